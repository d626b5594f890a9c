// The system's OpenSSL, for GlideTLS. Swift calls OpenSSL's functions directly; the few wrappers
// below exist because what they wrap is a macro, which the Clang importer can't call.
#ifndef C_GLIDE_TLS_H
#define C_GLIDE_TLS_H
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/// SSL_CTX_set_min_proto_version: the lowest TLS version the context negotiates. 1 on success.
int CGlideTLS_CTX_set_min_proto_version(SSL_CTX *context, int version);

/// SSL_CTX_set_mode: partial writes and moving write buffers, as the memory-BIO stream needs.
long CGlideTLS_CTX_set_mode(SSL_CTX *context, long mode);

/// SSL_OP_NO_RENEGOTIATION (a macro of macros): a client never renegotiates TLS 1.2.
void CGlideTLS_CTX_disable_renegotiation(SSL_CTX *context);

/// SSL_set_tlsext_host_name: the server name sent in the ClientHello (SNI). 1 on success.
int CGlideTLS_set_tlsext_host_name(SSL *ssl, const char *name);

/// ERR_GET_REASON: the reason part of an error code from ERR_get_error.
int CGlideTLS_error_reason(unsigned long code);
#endif

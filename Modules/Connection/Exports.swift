// The connection's API speaks in the layers below it: it takes commands encoded into RESP and
// gives tokens back (GlideRESPCodec, over GlideBuffers' bytes), over streams, connectors and an
// event loop (GlideTransport). A user of this module gets them with it.
@_exported public import GlideBuffers
@_exported public import GlideRESPCodec
@_exported public import GlideTransport

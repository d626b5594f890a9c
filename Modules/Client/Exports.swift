// The client's API speaks in commands, replies and bytes: re-export the modules that define them.
@_exported public import GlideCommands
@_exported public import GlideRESPCodec
@_exported public import GlideBuffers
@_exported public import GlideTransport
@_exported public import GlideTLS
@_exported public import GlideTopology
@_exported public import GlideRouter

// Streams read into and write from `Bytes`: users of the transport get the buffer type with it.
@_exported public import GlideBuffers

// Every API of this module speaks in `Bytes`: users of the codec get the buffer type with it.
@_exported public import GlideBuffers

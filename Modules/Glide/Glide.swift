// The umbrella: `import Glide` brings the clients, their configuration, the typed commands, the
// reply types and the bytes type.
@_exported public import GlideClient
@_exported public import GlideCommands

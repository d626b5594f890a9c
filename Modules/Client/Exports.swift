@_exported public import GlideBuffers
// What a user of the clients needs, and nothing of the machinery below them.
//
// Whole modules the API speaks in: commands, replies and bytes.
@_exported public import GlideCommands
@_exported public import GlideRESPCodec

@_exported public import struct GlideCompression.CompressionConfiguration
@_exported public import struct GlideConnection.AdaptiveTimeout
@_exported public import struct GlideConnection.BackoffStrategy
@_exported public import struct GlideConnection.CircuitBreakerConfiguration
@_exported public import protocol GlideConnection.GlideConnector
@_exported public import struct GlideConnection.GlideError
@_exported public import enum GlideConnection.GlideEvent
@_exported public import enum GlideConnection.GlideLogLevel
@_exported public import protocol GlideConnection.GlideLogger
@_exported public import protocol GlideConnection.GlideMetrics
@_exported public import struct GlideConnection.GlideObservability
@_exported public import protocol GlideConnection.GlideSpan
@_exported public import struct GlideConnection.GlideStatistics
@_exported public import protocol GlideConnection.GlideTracer
@_exported public import enum GlideConnection.GlideVersion
@_exported public import struct GlideConnection.NodeLatency
@_exported public import enum GlideConnection.ProtocolVersion
@_exported public import struct GlideConnection.PubSubMessage
@_exported public import struct GlideConnection.ServerCredentials
@_exported public import struct GlideConnection.SocketConnector
@_exported public import enum GlideRouter.ReadFrom
@_exported public import enum GlideRouter.Route
@_exported public import enum GlideRouter.SlotNodeRole
@_exported public import struct GlideTLS.TLSConfiguration
@_exported public import struct GlideTopology.ClusterNode
@_exported public import struct GlideTopology.ClusterShard
@_exported public import struct GlideTopology.ClusterTopology
@_exported public import enum GlideTopology.HashSlot
// From the layers underneath, only the types that appear in the clients' API. (Each layer stays a
// library of its own: import GlideTransport, GlideTopology, … to build on it.)
@_exported public import struct GlideTopology.NodeAddress
@_exported public import struct GlideTopology.SlotMap
@_exported public import struct GlideTopology.TopologyRefreshPolicy
@_exported public import class GlideTransport.EpollEventLoop
@_exported public import class GlideTransport.EpollEventLoopGroup
@_exported public import struct GlideTransport.Errno
@_exported public import struct GlideTransport.TransportError

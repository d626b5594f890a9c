// A node's address is the transport's (a connector dials it); the topology names nodes by it.
@_exported public import struct GlideTransport.NodeAddress

import GlideClient

/// A configuration changed in one expression, for tests that pass it straight to `create`: the
/// library's own shape is a small init and properties, which this only chains.
public protocol ChangeableConfiguration {}

extension ChangeableConfiguration {
    /// A copy of this configuration with `change` applied.
    public func with(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}

extension GlideClientConfiguration: ChangeableConfiguration {}
extension GlideClusterClientConfiguration: ChangeableConfiguration {}

// The pipeline emits `CaptionEvent`s to an `OutputHost`: both come from the output-plugin host, which
// is its own module so that plugin tools link it alone. Re-exported, as they are part of this
// module's API.
@_exported import OutputPluginHost

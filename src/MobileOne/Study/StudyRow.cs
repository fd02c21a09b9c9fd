using MobileOne.Benchmarks;

namespace MobileOne.Study;

/// <summary>One network's counts and measured latency.</summary>
/// <param name="Name">Zoo name.</param>
/// <param name="Family">Architecture family.</param>
/// <param name="Highlight">True for MobileOne (highlighted in plots).</param>
/// <param name="Params">Parameters of the deployed form.</param>
/// <param name="Macs">Multiply-accumulates at 224x224 of the deployed form.</param>
/// <param name="Latency">Batch-1 latency.</param>
public sealed record StudyRow(string Name, string Family, bool Highlight, long Params, long Macs, LatencyStats Latency);

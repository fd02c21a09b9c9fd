namespace MobileOne.Data;

/// <summary>One batch of network inputs and labels.</summary>
/// <param name="Images">Inputs, [Count, Channels, Size, Size] row-major.</param>
/// <param name="Labels">Class labels.</param>
/// <param name="Count">Number of samples.</param>
/// <param name="Channels">Channels per image.</param>
/// <param name="Size">Height and width.</param>
/// <param name="Index">Index of the batch within its epoch.</param>
public sealed record Batch(float[] Images, long[] Labels, int Count, int Channels, int Size, int Index) : IBatch;

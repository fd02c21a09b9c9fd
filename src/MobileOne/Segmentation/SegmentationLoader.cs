using MobileOne.Data;

namespace MobileOne.Segmentation;

/// <summary>
/// A batch of a segmentation data set: images normalised, channel-major, [Count, 3, Height, Width], and their
/// labels [Count, Height, Width] (255 ignored); <see cref="Indices"/> are the images' places in the split.
/// </summary>
public sealed record SegmentationBatch(float[] Images, byte[] Labels, int[] Indices, int Count, int Height, int Width, int Index) : IBatch
{
    /// <summary>The longer side (training batches are square).</summary>
    public int Size => Math.Max(Height, Width);
}

/// <summary>
/// Batches of a <see cref="SegmentationData"/> split, prepared ahead on worker threads. Training batches are shuffled
/// and augmented (<see cref="SegmentationAugmentation"/>) per (seed, epoch, image), so that a resumed run sees what an
/// uninterrupted one does; evaluation batches (<see cref="FullResolution"/>) are the images as they are, in order.
/// </summary>
public sealed class SegmentationLoader(SegmentationData set, SegmentationAugmentation? augmentation, ImagePreprocessor normalization,
    int batchSize, bool shuffle, int seed, int workers)
{
    /// <summary>Training batches in one epoch (the last partial batch dropped).</summary>
    public int BatchesPerEpoch => set.Samples.Count / batchSize;

    /// <summary>The split.</summary>
    public SegmentationData Set => set;

    /// <summary>The augmented batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on, <paramref name="size"/> pixels square.</summary>
    public IEnumerable<SegmentationBatch> Epoch(int epoch, int startBatch, Func<int, int> size, CancellationToken cancel = default)
    {
        var augment = augmentation ?? throw new InvalidOperationException("an evaluation loader has no training epochs");
        var order = DataLoader.SampleOrder(set.Samples.Count, shuffle, seed, epoch);
        return DataLoader.Prefetch(startBatch, BatchesPerEpoch, b =>
        {
            int s = size(b);
            var indices = order.AsSpan(b * batchSize, batchSize).ToArray();
            var samples = Load(indices, (image, i) => augment.Apply(image, seed, epoch, indices[i], s));
            return Pack(samples, indices, b);
        }, cancel);
    }

    /// <summary>
    /// Every image at its own size, in order: up to the batch size of consecutive images each batch, cut where the size changes.
    /// </summary>
    public IEnumerable<SegmentationBatch> FullResolution(CancellationToken cancel = default)
    {
        int chunks = (set.Samples.Count + batchSize - 1) / batchSize, index = 0;
        foreach (var chunk in DataLoader.Prefetch(0, chunks, c =>
        {
            var indices = Enumerable.Range(c * batchSize, Math.Min(batchSize, set.Samples.Count - c * batchSize)).ToArray();
            return (Indices: indices, Samples: Load(indices, (image, _) => image));
        }, cancel))
        {
            for (int start = 0; start < chunk.Samples.Length;)
            {
                int end = start + 1;
                var (w, h) = (chunk.Samples[start].Image.Width, chunk.Samples[start].Image.Height);
                while (end < chunk.Samples.Length && (chunk.Samples[end].Image.Width, chunk.Samples[end].Image.Height) == (w, h)) end++;
                yield return Pack(chunk.Samples[start..end], chunk.Indices[start..end], index++);
                start = end;
            }
        }
    }

    private SegmentationImage[] Load(int[] indices, Func<SegmentationImage, int, SegmentationImage> transform)
    {
        var samples = new SegmentationImage[indices.Length];
        Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) },
            i => samples[i] = transform(set.Load(indices[i]), i));
        return samples;
    }

    // Images of one size into one normalised array, their labels into another.
    private SegmentationBatch Pack(SegmentationImage[] samples, int[] indices, int b)
    {
        int w = samples[0].Image.Width, h = samples[0].Image.Height, plane = checked(3 * w * h);
        var images = new float[checked(samples.Length * plane)];
        var labels = new byte[samples.Length * w * h];
        var normalize = normalization with { Channels = 3 };
        for (int i = 0; i < samples.Length; i++)
        {
            normalize.Normalize(samples[i].Image, 0, 0, w, h, images.AsSpan(i * plane, plane));
            samples[i].Mask.Labels.CopyTo(labels, i * w * h);
        }
        return new SegmentationBatch(images, labels, indices, samples.Length, h, w, b);
    }
}

using MobileOne.Data;
using MobileOne.Detection.Coco;

namespace MobileOne.Detection;

/// <summary>
/// A batch of a detection data set: images at the network's square input, normalised, with each image's
/// objects at that size, and what is needed to map detections back (the image's index and original size).
/// </summary>
public sealed record DetectionBatch(float[] Images, DetectionSample[] Samples, int[] ImageIndices, (int Width, int Height)[] OriginalSizes,
    int Count, int Size, int Index) : IBatch;

/// <summary>
/// Batches of a <see cref="CocoDataset"/>, prepared ahead on worker threads. Training batches are shuffled and
/// augmented (<see cref="DetectionAugmentation"/>) per (seed, epoch, image), as classification's are, so that a
/// resumed run sees what an uninterrupted one does; evaluation batches are the images resized in order.
/// </summary>
public sealed class DetectionLoader(CocoDataset set, DetectionAugmentation? augmentation, ImagePreprocessor normalization,
    int batchSize, bool shuffle, int seed, int workers)
{
    /// <summary>Batches in one epoch (training drops the last partial batch).</summary>
    public int BatchesPerEpoch => augmentation is null ? (set.Images.Count + batchSize - 1) / batchSize : set.Images.Count / batchSize;

    /// <summary>The data set.</summary>
    public CocoDataset Set => set;

    /// <summary>The batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on, at <paramref name="size"/> pixels a side.</summary>
    public IEnumerable<DetectionBatch> Epoch(int epoch, int startBatch, Func<int, int> size, CancellationToken cancel = default)
    {
        var order = DataLoader.SampleOrder(set.Images.Count, shuffle, seed, epoch);
        return DataLoader.Prefetch(startBatch, BatchesPerEpoch, b => Make(order, epoch, b, size(b)), cancel);
    }

    private DetectionBatch Make(int[] order, int epoch, int b, int size)
    {
        int start = b * batchSize, count = Math.Min(batchSize, order.Length - start), plane = 3 * size * size;
        var images = new float[count * plane];
        var samples = new DetectionSample[count];
        var indices = order.AsSpan(start, count).ToArray();
        var sizes = new (int, int)[count];
        var normalize = normalization with { Size = size, Channels = 3 };
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, i =>
        {
            var sample = DetectionData.Sample(set, indices[i]);
            sizes[i] = (sample.Image.Width, sample.Image.Height);
            samples[i] = augmentation is null
                ? DetectionTransforms.Resize(sample, size, size)
                : augmentation.Apply(sample, seed, epoch, indices[i], size);
            normalize.Normalize(samples[i].Image, 0, 0, images.AsSpan(i * plane, plane));
        });
        return new DetectionBatch(images, samples, indices, sizes, count, size, b);
    }
}

using System.Collections.Concurrent;

namespace MobileOne.Data;

/// <summary>
/// Produces batches on worker threads while the model trains. Deterministic for a seed: the epoch's
/// order and every sample's augmentation come from seeds derived from (seed, epoch, index), never from
/// thread timing, so a resumed run sees exactly the batches an uninterrupted one would.
/// </summary>
public sealed class DataLoader
{
    /// <summary>How one sample becomes network input: (image, its random source, size, strength, destination).</summary>
    public delegate void SampleTransform(RgbImage image, Random rng, int size, double strength, Span<float> destination);

    private readonly IImageDataset dataset;
    private readonly SampleTransform transform;

    /// <summary>Creates a loader.</summary>
    public DataLoader(IImageDataset dataset, SampleTransform transform, int batchSize, int channels, bool shuffle, bool dropLast, int seed, int workers)
    {
        if (batchSize < 1) throw new MobileOneException($"batch size must be at least 1, found {batchSize}");
        if (dataset.Count == 0) throw new MobileOneException($"{dataset.Description}: no samples");
        this.dataset = dataset;
        this.transform = transform;
        BatchSize = batchSize;
        Channels = channels;
        Shuffle = shuffle;
        DropLast = dropLast && dataset.Count >= batchSize;
        Seed = seed;
        Workers = Math.Max(1, workers);
    }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Channels per produced image.</summary>
    public int Channels { get; }

    /// <summary>Whether each epoch visits the samples in a new order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether an incomplete last batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Seed of orders and augmentations.</summary>
    public int Seed { get; }

    /// <summary>Threads preparing samples.</summary>
    public int Workers { get; }

    /// <summary>Batches in one epoch.</summary>
    public int BatchesPerEpoch => DropLast ? dataset.Count / BatchSize : (dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The sample order of an epoch.</summary>
    public int[] Order(int epoch) => SampleOrder(dataset.Count, Shuffle, Seed, epoch);

    /// <summary>
    /// The order of <paramref name="count"/> samples in <paramref name="epoch"/>: a Fisher-Yates shuffle seeded by
    /// (<paramref name="seed"/>, <paramref name="epoch"/>), or the identity without <paramref name="shuffle"/>.
    /// </summary>
    public static int[] SampleOrder(int count, bool shuffle, int seed, int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        if (!shuffle) return order;
        var rng = new Random(Mix(seed, epoch, -1));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on, prepared ahead on
    /// worker threads; <paramref name="settings"/> gives each batch's image size and augmentation strength.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch, Func<int, (int Size, double Strength)> settings, CancellationToken cancel = default)
    {
        var order = Order(epoch);
        return Prefetch(startBatch, BatchesPerEpoch, b => Make(order, epoch, b, settings(b)), cancel);
    }

    /// <summary>
    /// The results of <paramref name="make"/> for <paramref name="start"/> .. <paramref name="end"/> - 1, in order, made a
    /// few ahead on a background thread while the caller consumes them. A failure while making one ends the
    /// sequence with a <see cref="MobileOneException"/>.
    /// </summary>
    public static IEnumerable<T> Prefetch<T>(int start, int end, Func<int, T> make, CancellationToken cancel = default)
    {
        using var queue = new BlockingCollection<T>(boundedCapacity: 3);
        Exception? failure = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var producer = Task.Run(() =>
        {
            try
            {
                for (int b = start; b < end && !stop.IsCancellationRequested; b++)
                    queue.Add(make(b), stop.Token);
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        });
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable())
                yield return batch;
            if (failure is not null)
                throw failure is MobileOneException ? failure : new MobileOneException($"preparing a batch failed: {failure.Message}", failure);
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }

    private Batch Make(int[] order, int epoch, int b, (int Size, double Strength) s)
    {
        int start = b * BatchSize, count = Math.Min(BatchSize, order.Length - start), plane = Channels * s.Size * s.Size;
        var images = new float[count * plane];
        var labels = new long[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Workers }, i =>
        {
            int index = order[start + i];
            labels[i] = dataset.Label(index);
            transform(dataset.Image(index), new Random(Mix(Seed, epoch, index)), s.Size, s.Strength, images.AsSpan(i * plane, plane));
        });
        return new Batch(images, labels, count, Channels, s.Size, b);
    }

    /// <summary>A well-mixed 32-bit seed from three integers (stable across runs and platforms).</summary>
    public static int Mix(int a, int b, int c)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var v in new[] { a, b, c })
        {
            h ^= (uint)v;
            h *= 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}

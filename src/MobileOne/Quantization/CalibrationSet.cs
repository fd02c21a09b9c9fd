using MobileOne.Data;
using static TorchSharp.torch;

namespace MobileOne.Quantization;

/// <summary>
/// The inputs calibration runs a model on, already preprocessed: images of a data set's training split
/// (<c>fashion-mnist</c>, a folder of IDX files), so that the test split an evaluation uses stays unseen; of a
/// folder (every image file under it, decoded with SkiaSharp); or the rows of an <c>.npy</c> array [N, C, H, W]. Always the same samples in the same order for the same request.
/// </summary>
public sealed class CalibrationSet
{
    private readonly Func<int, float[]> sample;

    private CalibrationSet(string description, int count, int channels, int height, int width, Func<int, float[]> sample)
    {
        Description = description;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        this.sample = sample;
    }

    /// <summary>What the samples are (for messages and the model's metadata).</summary>
    public string Description { get; }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Channels of a sample.</summary>
    public int Channels { get; }

    /// <summary>Height of a sample.</summary>
    public int Height { get; }

    /// <summary>Width of a sample.</summary>
    public int Width { get; }

    /// <summary>Floats in one sample.</summary>
    public int SampleLength => Channels * Height * Width;

    /// <summary>The largest side calibration images are cropped to for a graph that takes any size.</summary>
    public const int MaxFreeSize = 512;

    /// <summary>
    /// Opens <paramref name="spec"/> for a model taking <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/>
    /// inputs made by <paramref name="preprocessing"/>; at most <paramref name="samples"/> of them. An empty source is an error.
    /// Height and width 0 stand for a graph that takes any size: images are then cropped to squares of the first one's
    /// shorter side (at most <see cref="MaxFreeSize"/>), so that they batch, and an array keeps its own size.
    /// </summary>
    public static CalibrationSet Open(string spec, ImagePreprocessor preprocessing, int channels, int height, int width, int samples)
    {
        if (samples < 1) throw new MobileOneException($"calibration needs at least one sample, asked for {samples}");
        if (spec.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) return FromNpy(spec, channels, height, width, samples);
        bool free = height == 0 && width == 0;
        if (!free && (height != width || preprocessing.Size != height) || preprocessing.Channels != channels)
            throw new MobileOneException($"calibration images are preprocessed to {preprocessing.Channels}x{preprocessing.Size}x{preprocessing.Size}; the model takes {channels}x{height}x{width} (give an .npy of its inputs instead)");
        if (TrainingData.IsIdx(spec)) return FromImages(new DatasetSubset(TrainingData.LoadIdx(spec, train: true), samples), preprocessing, free);
        if (Directory.Exists(spec)) return FromFolder(spec, preprocessing, samples, free);
        throw new MobileOneException($"calibration set not found: {spec} (expected {TrainingData.FashionMnistName}, a folder of images or of IDX files, or an .npy file)");
    }

    /// <summary>Samples already in memory, [count, channels, height, width] floats (for tests and benchmarks).</summary>
    public static CalibrationSet FromArray(float[] data, int channels, int height, int width, string description)
    {
        int length = channels * height * width;
        if (length < 1 || data.Length == 0 || data.Length % length != 0)
            throw new MobileOneException($"{description}: {data.Length} floats are not a whole number of {channels}x{height}x{width} samples");
        return new CalibrationSet(description, data.Length / length, channels, height, width, i => data.AsSpan(i * length, length).ToArray());
    }

    private static CalibrationSet FromImages(IImageDataset set, ImagePreprocessor pre, bool free)
    {
        if (set.Count == 0) throw new MobileOneException($"{set.Description}: no samples to calibrate on");
        if (free) pre = SizedBy(pre, set.Image(0), set.Description);
        return new CalibrationSet(set.Description, set.Count, pre.Channels, pre.Size, pre.Size, i => pre.Process(set.Image(i)));
    }

    /// <summary>The smallest side calibration images are cropped to for a graph that takes any size (a segmenter's output stride is 8 or 16).</summary>
    public const int MinFreeSize = 32;

    // A graph that takes any size is calibrated at the first image's shorter side: square crops, so that samples batch.
    private static ImagePreprocessor SizedBy(ImagePreprocessor pre, RgbImage first, string description)
    {
        int side = Math.Min(MaxFreeSize, Math.Min(first.Width, first.Height));
        if (side < MinFreeSize)
            throw new MobileOneException($"{description}: the first image is {first.Width}x{first.Height}; calibrating a graph that takes any size needs images of at least {MinFreeSize} pixels a side");
        return pre with { Size = side, CropPct = 1 };
    }

    private static CalibrationSet FromFolder(string folder, ImagePreprocessor pre, int samples, bool free)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f)))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new MobileOneException($"{folder}: no images to calibrate on (expected {string.Join(", ", ImageDecoder.Extensions.Order())} files in it or below)");
        // Evenly spaced over the sorted list, so that a folder of class folders gives every class its share.
        int n = Math.Min(samples, files.Count);
        var chosen = Enumerable.Range(0, n).Select(i => files[(int)((long)i * files.Count / n)]).ToList();
        if (free) pre = SizedBy(pre, ImageDecoder.Decode(chosen[0]), chosen[0]);
        return new CalibrationSet($"{folder} ({n:N0} of {files.Count:N0} images)", n, pre.Channels, pre.Size, pre.Size, i => pre.Process(ImageDecoder.Decode(chosen[i])));
    }

    private static CalibrationSet FromNpy(string path, int channels, int height, int width, int samples)
    {
        using var t = NpyFile.Read(path);
        var shape = t.shape;
        if (shape.Length != 4 || shape[1] != channels || (height > 0 && shape[2] != height) || (width > 0 && shape[3] != width))
            throw new MobileOneException($"{path}: an array of shape ({string.Join(", ", shape)}); the model takes [N, {channels}, {Dim(height, "H")}, {Dim(width, "W")}]");
        if (shape[0] == 0) throw new MobileOneException($"{path}: the array holds no samples to calibrate on");
        long n = Math.Min(samples, shape[0]);
        using var rows = t.narrow(0, 0, n).contiguous();
        var data = rows.data<float>().ToArray();
        return FromArray(data, channels, (int)shape[2], (int)shape[3], $"{path} ({n:N0} of {shape[0]:N0} samples)");
    }

    private static string Dim(int d, string symbol) => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : symbol;

    /// <summary>The samples in order, <paramref name="batchSize"/> at a time: [n, C, H, W] floats and n, prepared ahead on a worker thread.</summary>
    public IEnumerable<(float[] Data, int Count)> Batches(int batchSize)
    {
        if (batchSize < 1) throw new MobileOneException($"batch size must be at least 1, found {batchSize}");
        int batches = (Count + batchSize - 1) / batchSize;
        return DataLoader.Prefetch(0, batches, b =>
        {
            int start = b * batchSize, n = Math.Min(batchSize, Count - start);
            var data = new float[(long)n * SampleLength];
            for (int i = 0; i < n; i++) sample(start + i).CopyTo(data, (long)i * SampleLength);
            return (data, n);
        });
    }
}

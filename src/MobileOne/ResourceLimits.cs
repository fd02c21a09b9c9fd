using System.Globalization;

namespace MobileOne;

/// <summary>
/// Upper bounds on what a file may make the library allocate: one tensor, one model, one decoded image,
/// one network input. Files are checked against them before anything is allocated, so that a few
/// hostile bytes cannot claim gigabytes. The defaults fit a 24 GB machine with room to spare and are far
/// above any MobileOne (S4 has 15M parameters); each can be raised through an environment variable.
/// </summary>
public sealed record ResourceLimits
{
    /// <summary>Environment variable for <see cref="MaxTensorBytes"/>, in MiB.</summary>
    public const string TensorVariable = "MOBILEONE_MAX_TENSOR_MB";

    /// <summary>Environment variable for <see cref="MaxModelParameters"/>, in millions.</summary>
    public const string ModelVariable = "MOBILEONE_MAX_MODEL_MPARAMS";

    /// <summary>Environment variable for <see cref="MaxImagePixels"/>, in megapixels.</summary>
    public const string ImageVariable = "MOBILEONE_MAX_IMAGE_MPIXELS";

    /// <summary>Environment variable for <see cref="MaxInputPixels"/>, in megapixels.</summary>
    public const string InputVariable = "MOBILEONE_MAX_INPUT_MPIXELS";

    /// <summary>Environment variable for <see cref="MaxRuntimeBytes"/>, in MiB.</summary>
    public const string RuntimeVariable = "MOBILEONE_MAX_RUNTIME_MB";

    /// <summary>Largest single tensor or file record read into memory (default 2000 MiB, about what one .NET array holds).</summary>
    public long MaxTensorBytes { get; init; } = 2000L << 20;

    /// <summary>Largest network built from a configuration or checkpoint, in parameters (default 200 million).</summary>
    public long MaxModelParameters { get; init; } = 200_000_000;

    /// <summary>Largest image decoded, in pixels (default 64 megapixels, e.g. 8192 x 8192).</summary>
    public long MaxImagePixels { get; init; } = 64L << 20;

    /// <summary>Largest network input per image and channel, in pixels (default 16 megapixels, 4096 x 4096).</summary>
    public long MaxInputPixels { get; init; } = 16L << 20;

    /// <summary>
    /// Working memory of ONNX Runtime, for all its sessions together (default 4095 MiB, the most its arena
    /// can be capped at; 0 removes the cap). An ONNX model is a program: a convolution padded by a million
    /// pixels is valid and would allocate gigabytes. Read once, when the first session is created.
    /// </summary>
    public long MaxRuntimeBytes { get; init; } = MaxRuntimeCap;

    /// <summary>The largest cap ONNX Runtime's arena takes (its size is a 32-bit count of bytes).</summary>
    public const long MaxRuntimeCap = 4095L << 20;

    /// <summary>
    /// The limits in force: the defaults, each overridden by its environment variable when set. Tools
    /// and tests may replace them for the whole process.
    /// </summary>
    public static ResourceLimits Current { get; set; } = FromEnvironment();

    /// <summary>The defaults with the environment's overrides; a malformed value is an error naming the variable.</summary>
    public static ResourceLimits FromEnvironment()
    {
        var d = new ResourceLimits();
        return d with
        {
            MaxTensorBytes = Read(TensorVariable, 1L << 20) ?? d.MaxTensorBytes,
            MaxModelParameters = Read(ModelVariable, 1_000_000) ?? d.MaxModelParameters,
            MaxImagePixels = Read(ImageVariable, 1L << 20) ?? d.MaxImagePixels,
            MaxInputPixels = Read(InputVariable, 1L << 20) ?? d.MaxInputPixels,
            MaxRuntimeBytes = ReadRuntime() ?? d.MaxRuntimeBytes,
        };
    }

    private static long? ReadRuntime()
    {
        if (Environment.GetEnvironmentVariable(RuntimeVariable)?.Trim() == "0") return 0;
        var bytes = Read(RuntimeVariable, 1L << 20);
        return bytes > MaxRuntimeCap
            ? throw new MobileOneException($"{RuntimeVariable}: ONNX Runtime's arena takes a cap of at most {MaxRuntimeCap >> 20} MiB; 0 removes the cap")
            : bytes;
    }

    private static long? Read(string variable, long unit)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > long.MaxValue / unit)
            throw new MobileOneException($"{variable}={text}: expected a positive whole number");
        return value * unit;
    }

    /// <summary>Throws when a tensor or record of <paramref name="bytes"/> bytes exceeds <see cref="MaxTensorBytes"/>.</summary>
    public void CheckTensorBytes(long bytes, string what)
    {
        if (bytes > MaxTensorBytes)
            throw new ResourceLimitException($"{what} needs {Describe(bytes, 1L << 20, "MiB")}, above the limit of {Describe(MaxTensorBytes, 1L << 20, "MiB")}; " +
                                             $"set {TensorVariable} (in MiB) to raise it");
        if (bytes > Array.MaxLength)
            throw new ResourceLimitException($"{what} needs {Describe(bytes, 1L << 20, "MiB")}, more than one .NET array can hold");
    }

    /// <summary>Throws when a network of <paramref name="parameters"/> parameters exceeds <see cref="MaxModelParameters"/>.</summary>
    public void CheckModelParameters(long parameters, string what)
    {
        if (parameters > MaxModelParameters)
            throw new ResourceLimitException($"{what} has {Describe(parameters, 1_000_000, "million")} parameters, above the limit of " +
                                             $"{Describe(MaxModelParameters, 1_000_000, "million")}; set {ModelVariable} (in millions) to raise it");
    }

    /// <summary>Throws when an image of <paramref name="width"/> x <paramref name="height"/> exceeds <see cref="MaxImagePixels"/>.</summary>
    public void CheckImage(long width, long height, string what) =>
        CheckPixels(width, height, MaxImagePixels, ImageVariable, what, "the image");

    /// <summary>Throws when a network input of <paramref name="width"/> x <paramref name="height"/> exceeds <see cref="MaxInputPixels"/>.</summary>
    public void CheckInput(long width, long height, string what) =>
        CheckPixels(width, height, MaxInputPixels, InputVariable, what, "the network input");

    private static void CheckPixels(long width, long height, long limit, string variable, string what, string noun)
    {
        if (width < 1 || height < 1)
            throw new MobileOneException($"{what}: {noun} of {width}x{height} pixels is empty");
        if (width > limit / height)
            throw new ResourceLimitException($"{what}: {noun} of {width}x{height} pixels is above the limit of {Describe(limit, 1L << 20, "megapixels")}; " +
                                             $"set {variable} to raise it");
    }

    private static string Describe(long value, long unit, string name) =>
        (value / (double)unit).ToString(value % unit == 0 ? "N0" : "N1", CultureInfo.InvariantCulture) + " " + name;
}

/// <summary>A file or request that would exceed a <see cref="ResourceLimits"/> bound; the message names the limit and how to raise it.</summary>
public sealed class ResourceLimitException : MobileOneException
{
    /// <summary>Creates the exception.</summary>
    public ResourceLimitException(string message) : base(message) { }
}

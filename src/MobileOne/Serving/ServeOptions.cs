using System.Globalization;
using System.Net;

namespace MobileOne.Serving;

/// <summary>How an <see cref="InferenceServer"/> runs: the model, where it listens, and the bounds it keeps.</summary>
public sealed record ServeOptions
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 8080;

    /// <summary>Requests admitted at once (running or waiting for the model) when no other count is given.</summary>
    public const int DefaultQueueCapacity = 64;

    /// <summary>The largest request body accepted when no other size is given: 10 MiB.</summary>
    public const long DefaultMaxRequestBytes = 10L << 20;

    /// <summary>The number of classes a classification returns when the request names none.</summary>
    public const int DefaultTopK = 5;

    /// <summary>The ONNX image classifier to serve.</summary>
    public required string OnnxPath { get; init; }

    /// <summary>The IP address to listen on (default loopback only: put a proxy in front to expose it).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The TCP port; 0 lets the system choose a free one (see <see cref="InferenceServer.Address"/>).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>ONNX Runtime's intra-op threads for the one shared session; 0 lets it choose.</summary>
    public int Threads { get; init; }

    /// <summary>Classification requests admitted at once; one more is refused with 503.</summary>
    public int QueueCapacity { get; init; } = DefaultQueueCapacity;

    /// <summary>The largest request body, in bytes; a larger one is refused with 413.</summary>
    public long MaxRequestBytes { get; init; } = DefaultMaxRequestBytes;

    /// <summary>How long a stop waits for the requests in flight before it abandons them.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>These options, or an error naming the first one out of range.</summary>
    public ServeOptions Validated()
    {
        if (Port is < 0 or > IPEndPoint.MaxPort) throw new MobileOneException($"port must be between 0 and {IPEndPoint.MaxPort}, found {Port}");
        if (Threads < 0) throw new MobileOneException($"threads must be 0 (automatic) or positive, found {Threads}");
        if (QueueCapacity < 1) throw new MobileOneException($"the queue must admit at least 1 request, found {QueueCapacity}");
        // Bodies are buffered in one array.
        if (MaxRequestBytes < 1 || MaxRequestBytes > Array.MaxLength)
            throw new MobileOneException($"the request size limit must be between 1 byte and {Array.MaxLength} bytes, found {MaxRequestBytes}");
        if (ShutdownTimeout < TimeSpan.Zero) throw new MobileOneException($"the shutdown timeout must not be negative, found {ShutdownTimeout}");
        return this;
    }

    /// <summary>
    /// A byte count written as a number with an optional unit: B, KB, MB or GB (powers of 1024, as are
    /// KiB, MiB and GiB), e.g. "10MB", "512 KiB", "1048576".
    /// </summary>
    public static long ParseBytes(string text)
    {
        var s = text.Trim();
        int split = s.Length;
        while (split > 0 && char.IsAsciiLetter(s[split - 1])) split--;
        var unit = s[split..].ToUpperInvariant();
        int shift = unit switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            _ => -1,
        };
        if (shift < 0 || !long.TryParse(s[..split].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue >> shift)
            throw new MobileOneException($"'{IO.MessageText.Shorten(text, 40)}' is not a byte size (a whole number with an optional unit B, KB, MB or GB)");
        return n << shift;
    }
}

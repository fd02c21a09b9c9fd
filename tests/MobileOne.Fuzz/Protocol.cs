using System.Text.Json;

namespace MobileOne.Fuzz;

/// <summary>
/// The driver-worker protocol. The driver writes <c>LOADER&lt;TAB&gt;PATH</c> lines on the worker's stdin; the worker
/// answers each with one line <c>@fuzz {json}</c> on its protocol pipe. The tag lets the driver ignore anything a
/// native library might print, should it reach the same pipe.
/// </summary>
public static class Protocol
{
    /// <summary>Prefix of every protocol line.</summary>
    public const string Tag = "@fuzz ";

    /// <summary>The line a worker writes once its native libraries are loaded.</summary>
    public const string Ready = "ready";

    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Serializes a reply to its protocol line (without the newline).</summary>
    public static string Format(WorkerReply reply) => Tag + JsonSerializer.Serialize(reply, Options);

    /// <summary>The reply carried by a line, or null when the line is not a protocol line.</summary>
    public static WorkerReply? TryParse(string line)
    {
        int at = line.IndexOf(Tag, StringComparison.Ordinal);
        if (at < 0) return null;
        try { return JsonSerializer.Deserialize<WorkerReply>(line.AsSpan(at + Tag.Length), Options); }
        catch (JsonException) { return null; }
    }
}

/// <summary>The worker's answer for one input.</summary>
/// <param name="Outcome">Kebab-case outcome name (<see cref="Outcomes.Name"/>), or <see cref="Protocol.Ready"/>.</param>
/// <param name="ExceptionType">Full name of the exception type, when one was thrown.</param>
/// <param name="Message">First line of the exception message.</param>
/// <param name="Where">The innermost stack frame in the MobileOne library, to tell failures apart.</param>
/// <param name="Ms">Wall time of the load, in milliseconds.</param>
/// <param name="PeakKb">Peak resident memory during the load (VmHWM after a reset), in KiB.</param>
/// <param name="RssAfterKb">Resident memory once the input is done and the heap collected, in KiB.</param>
/// <param name="AllocatedKb">Managed memory allocated by the load (touched or not), in KiB.</param>
public sealed record WorkerReply(
    string Outcome,
    string? ExceptionType = null,
    string? Message = null,
    string? Where = null,
    double Ms = 0,
    long PeakKb = 0,
    long RssAfterKb = 0,
    long AllocatedKb = 0);

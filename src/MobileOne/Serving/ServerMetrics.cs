using System.Globalization;
using System.Text;

namespace MobileOne.Serving;

/// <summary>
/// The server's counters, written in Prometheus's text exposition format: classification requests by
/// HTTP status, errors, a latency histogram, the queue, and the process's resident memory.
/// Safe to update from any number of request threads.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Upper bounds of the latency histogram's buckets, in seconds (a +Inf bucket follows).</summary>
    public static readonly IReadOnlyList<double> LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Lock gate = new();
    private readonly SortedDictionary<int, long> byStatus = [];
    private readonly long[] bucketCounts = new long[LatencyBuckets.Count];
    private double latencySum;
    private long latencyCount;

    /// <summary>Records a finished classification request: its status, and its latency when it was served.</summary>
    public void Completed(int status, TimeSpan latency)
    {
        double seconds = latency.TotalSeconds;
        lock (gate)
        {
            byStatus[status] = byStatus.GetValueOrDefault(status) + 1;
            if (status != 200) return;
            latencySum += seconds;
            latencyCount++;
            for (int i = 0; i < bucketCounts.Length; i++)
                if (seconds <= LatencyBuckets[i]) bucketCounts[i]++;
        }
    }

    /// <summary>Requests finished with <paramref name="status"/> so far.</summary>
    public long Count(int status)
    {
        lock (gate) return byStatus.GetValueOrDefault(status);
    }

    /// <summary>
    /// The metrics in Prometheus's text format (version 0.0.4), with the queue's state at this moment:
    /// <paramref name="queued"/> requests admitted of <paramref name="capacity"/>.
    /// </summary>
    public string ToPrometheusText(int queued, int capacity)
    {
        var text = new StringBuilder();
        lock (gate)
        {
            Header(text, "mobileone_requests_total", "counter", "Classification requests finished, by HTTP status.");
            foreach (var (status, count) in byStatus) Line(text, $"mobileone_requests_total{{status=\"{status}\"}}", count);
            Header(text, "mobileone_request_errors_total", "counter", "Classification requests that ended in an error (any status but 200).");
            Line(text, "mobileone_request_errors_total", byStatus.Where(kv => kv.Key != 200).Sum(kv => kv.Value));
            Header(text, "mobileone_request_duration_seconds", "histogram", "Time to serve a successful classification, from the first byte read to the answer.");
            for (int i = 0; i < bucketCounts.Length; i++)
                Line(text, $"mobileone_request_duration_seconds_bucket{{le=\"{Number(LatencyBuckets[i])}\"}}", bucketCounts[i]);
            Line(text, "mobileone_request_duration_seconds_bucket{le=\"+Inf\"}", latencyCount);
            text.Append("mobileone_request_duration_seconds_sum ").Append(Number(latencySum)).Append('\n');
            Line(text, "mobileone_request_duration_seconds_count", latencyCount);
        }
        Header(text, "mobileone_queue_requests", "gauge", "Classification requests admitted now (being read, decoded, waiting or running).");
        Line(text, "mobileone_queue_requests", queued);
        Header(text, "mobileone_queue_capacity", "gauge", "Classification requests admitted at most; more are refused with 503.");
        Line(text, "mobileone_queue_capacity", capacity);
        Header(text, "process_resident_memory_bytes", "gauge", "Resident memory of the server's process.");
        using (var process = System.Diagnostics.Process.GetCurrentProcess()) Line(text, "process_resident_memory_bytes", process.WorkingSet64);
        return text.ToString();
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Line(StringBuilder text, string name, long value) => text.Append(name).Append(' ').Append(value).Append('\n');

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

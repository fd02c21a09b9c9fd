using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using MobileOne.Serving;

namespace MobileOne.Benchmarks;

/// <summary>How long and how hard a load test drives a server.</summary>
/// <param name="Clients">Concurrent clients, each sending its next request when the last one is answered.</param>
/// <param name="Duration">How long the clients send.</param>
/// <param name="Baseline">How long one client alone sends first, for the single-client latency (untimed warm-up before it).</param>
public sealed record LoadTestSettings(int Clients, TimeSpan Duration, TimeSpan Baseline)
{
    /// <summary>The issue's protocol: 16 clients for 30 s, after 5 s of one client.</summary>
    public static LoadTestSettings Default => new(16, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));

    /// <summary>These settings, or an error naming the one out of range (the run is bounded: at most 256 clients for 10 minutes).</summary>
    public LoadTestSettings Validated()
    {
        if (Clients is < 1 or > 256) throw new MobileOneException($"clients must be from 1 to 256, found {Clients}");
        if (Duration <= TimeSpan.Zero || Duration > TimeSpan.FromMinutes(10)) throw new MobileOneException($"the duration must be more than 0 and at most 10 minutes, found {Duration.TotalSeconds} s");
        if (Baseline < TimeSpan.Zero || Baseline > TimeSpan.FromMinutes(10)) throw new MobileOneException($"the baseline must be from 0 to 10 minutes, found {Baseline.TotalSeconds} s");
        return this;
    }
}

/// <summary>What a load test measured: client-side latencies, throughput, errors, and the server's memory before and after.</summary>
/// <param name="Server">The server's address.</param>
/// <param name="Clients">Concurrent clients.</param>
/// <param name="Seconds">Time the clients sent for.</param>
/// <param name="Requests">Requests answered with 200.</param>
/// <param name="Errors">Requests answered otherwise, or not at all.</param>
/// <param name="P50Ms">Median latency under load.</param>
/// <param name="P99Ms">99th percentile latency under load.</param>
/// <param name="BaselineP50Ms">Median latency of one client alone (null without a baseline phase).</param>
/// <param name="BaselineP99Ms">99th percentile latency of one client alone.</param>
/// <param name="StartResidentMiB">The server's resident memory before the load, as its metrics report it.</param>
/// <param name="EndResidentMiB">The server's resident memory after the load.</param>
/// <param name="ResidentSamples">The server's resident memory during the load, about every tenth of it: (seconds into the load, MiB).</param>
public sealed record LoadTestReport(Uri Server, int Clients, double Seconds, long Requests, long Errors, double P50Ms, double P99Ms,
    double? BaselineP50Ms, double? BaselineP99Ms, double StartResidentMiB, double EndResidentMiB, IReadOnlyList<(double Seconds, double MiB)> ResidentSamples)
{
    /// <summary>
    /// How much the resident memory grew over the second half of the load (from the sample nearest its middle to the
    /// end): a server that leaks keeps growing there, one that only warms up has levelled off.
    /// </summary>
    public double SecondHalfGrowthMiB =>
        EndResidentMiB - (ResidentSamples.Count == 0 ? StartResidentMiB : ResidentSamples.MinBy(p => Math.Abs(p.Seconds - Seconds / 2)).MiB);

    /// <summary>Successful requests per second.</summary>
    public double Throughput => Requests / Seconds;

    /// <summary>The report as text lines.</summary>
    public IEnumerable<string> TextLines()
    {
        yield return Format($"load test: {Clients} clients for {Seconds:F1} s against {Server}");
        yield return Format($"requests {Requests}, errors {Errors}, throughput {Throughput:F1} requests/s");
        var baseline = BaselineP50Ms is double b50 && BaselineP99Ms is double b99 ? Format($" (1 client alone: p50 {b50:F1} ms, p99 {b99:F1} ms; p99 under load = {P99Ms / b50:F1}x its p50)") : "";
        yield return Format($"latency p50 {P50Ms:F1} ms, p99 {P99Ms:F1} ms") + baseline;
        var during = string.Join(", ", ResidentSamples.Select(p => Format($"{p.MiB:F0} ({p.Seconds:F0} s)")));
        yield return Format($"server resident memory: {StartResidentMiB:F1} MiB at the start, {during}{(during.Length > 0 ? ", " : "")}{EndResidentMiB:F1} MiB at the end; {SecondHalfGrowthMiB:+0.0;-0.0} MiB over the second half");
    }

    /// <summary>The report as one JSON object.</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        server = Server.ToString(), clients = Clients, seconds = Seconds, requests = Requests, errors = Errors, throughput = Throughput,
        p50_ms = P50Ms, p99_ms = P99Ms, baseline_p50_ms = BaselineP50Ms, baseline_p99_ms = BaselineP99Ms,
        start_resident_mib = StartResidentMiB, end_resident_mib = EndResidentMiB, second_half_growth_mib = SecondHalfGrowthMiB,
        resident_mib = ResidentSamples.Select(p => new { seconds = p.Seconds, mib = p.MiB }),
    });

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A closed-loop HTTP load test of an <see cref="InferenceServer"/>: each client posts the same image to
/// the classification endpoint as soon as its last answer came. Bounded in time and count of clients; meant
/// for a server on this machine's loopback.
/// </summary>
public static class ServerLoadTest
{
    /// <summary>Starts a server on <paramref name="options"/> (on a free loopback port), drives it, stops it, and reports.</summary>
    public static async Task<LoadTestReport> RunAsync(ServeOptions options, byte[] image, LoadTestSettings settings, Action<string>? log = null)
    {
        await using var server = await InferenceServer.StartAsync(options with { Address = System.Net.IPAddress.Loopback, Port = 0 });
        log?.Invoke($"serving {Path.GetFileName(options.OnnxPath)} on {server.Address}");
        return await RunAsync(server.Address, image, settings, log);
    }

    /// <summary>Drives the server at <paramref name="server"/>: warm-up, one client alone, then all clients; reads its memory from its metrics.</summary>
    public static async Task<LoadTestReport> RunAsync(Uri server, byte[] image, LoadTestSettings settings, Action<string>? log = null)
    {
        settings = settings.Validated();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Clients, UseProxy = false })
        {
            BaseAddress = server, Timeout = TimeSpan.FromSeconds(60),
        };
        double? b50 = null, b99 = null;
        if (settings.Baseline > TimeSpan.Zero)
        {
            await DriveAsync(client, image, 1, TimeSpan.FromSeconds(1));
            log?.Invoke($"one client for {settings.Baseline.TotalSeconds:F0} s");
            var alone = await DriveAsync(client, image, 1, settings.Baseline);
            (b50, b99) = (LatencyStats.Percentile(alone.Sorted, 0.5), LatencyStats.Percentile(alone.Sorted, 0.99));
        }
        double start = await ResidentMiBAsync(client);
        log?.Invoke($"{settings.Clients} clients for {settings.Duration.TotalSeconds:F0} s");
        var samples = new List<(double, double)>();
        var clock = Stopwatch.StartNew();
        var load = DriveAsync(client, image, settings.Clients, settings.Duration);
        var interval = settings.Duration / 10;
        while (await Task.WhenAny(load, Task.Delay(interval)) != load)
            samples.Add((clock.Elapsed.TotalSeconds, await ResidentMiBAsync(client)));
        var phase = await load;
        double end = await ResidentMiBAsync(client);
        if (phase.Sorted.Count == 0) throw new MobileOneException($"{server}: no request succeeded in {settings.Duration.TotalSeconds} s ({phase.Errors} errors)");
        return new LoadTestReport(server, settings.Clients, phase.Seconds, phase.Sorted.Count, phase.Errors,
            LatencyStats.Percentile(phase.Sorted, 0.5), LatencyStats.Percentile(phase.Sorted, 0.99), b50, b99, start, end, samples);
    }

    private sealed record Phase(IReadOnlyList<double> Sorted, long Errors, double Seconds);

    private static async Task<Phase> DriveAsync(HttpClient client, byte[] image, int clients, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(() => ClientAsync(client, image, clock, duration))));
        double seconds = clock.Elapsed.TotalSeconds;
        return new Phase(results.SelectMany(r => r.Latencies).Order().ToArray(), results.Sum(r => r.Errors), seconds);
    }

    private static async Task<(List<double> Latencies, long Errors)> ClientAsync(HttpClient client, byte[] image, Stopwatch clock, TimeSpan duration)
    {
        var latencies = new List<double>();
        long errors = 0;
        while (clock.Elapsed < duration)
        {
            long begin = Stopwatch.GetTimestamp();
            try
            {
                using var content = new ByteArrayContent(image);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await client.PostAsync(InferenceServer.ClassifyPath, content);
                await response.Content.ReadAsByteArrayAsync();
                if (response.IsSuccessStatusCode) latencies.Add(Stopwatch.GetElapsedTime(begin).TotalMilliseconds);
                else errors++;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                errors++;
            }
        }
        return (latencies, errors);
    }

    private static async Task<double> ResidentMiBAsync(HttpClient client)
    {
        var text = await client.GetStringAsync("/metrics");
        const string name = "process_resident_memory_bytes ";
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))
            ?? throw new MobileOneException("the server's metrics do not report its resident memory");
        return double.Parse(line[name.Length..], CultureInfo.InvariantCulture) / (1 << 20);
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using System.Text.Json;
using MobileOne.Benchmarks;
using MobileOne.Serving;

namespace MobileOne.Tests;

/// <summary><c>mobileone serve</c>'s server, on a real Kestrel on loopback: endpoints, error codes, limits and shutdown.</summary>
[Collection(nameof(ServedModel))]
public sealed class ServerTests(ServedModel model)
{
    private static HttpClient Client(InferenceServer server) => new() { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };

    private static ByteArrayContent Png(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(HttpClient client, HttpContent content, string query = "")
    {
        using var response = await client.PostAsync(InferenceServer.ClassifyPath + query, content);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    private static List<(int Index, string Label, double P)> Predictions(JsonElement json) =>
        json.GetProperty("predictions").EnumerateArray()
            .Select(p => (p.GetProperty("class_index").GetInt32(), p.GetProperty("label").GetString()!, p.GetProperty("probability").GetDouble())).ToList();

    private static void AssertError(HttpStatusCode expected, (HttpStatusCode Status, JsonElement Json) answer, string fragment)
    {
        Assert.Equal(expected, answer.Status);
        Assert.Equal((int)expected, answer.Json.GetProperty("status").GetInt32());
        Assert.Contains(fragment, answer.Json.GetProperty("error").GetString());
    }

    [SkippableFact]
    public async Task ClassifiesRawAndMultipartUploadsAsPredictDoes()
    {
        Fixtures.Require();
        var expected = model.Predict(ServedModel.Chelsea, 5);
        var server = await model.ServerAsync();
        using var client = Client(server);
        var bytes = await File.ReadAllBytesAsync(ServedModel.Chelsea);
        var raw = await PostAsync(client, Png(bytes));
        using var form = new MultipartFormDataContent { { Png(bytes), "image", "chelsea.png" } };
        var multipart = await PostAsync(client, form);
        foreach (var (status, json) in new[] { raw, multipart })
        {
            Assert.Equal(HttpStatusCode.OK, status);
            var got = Predictions(json);
            Assert.Equal(expected.Select(p => (p.Index, p.Label)), got.Select(p => (p.Index, p.Label)));
            Assert.All(expected.Zip(got), pair => Assert.Equal(pair.First.P, pair.Second.P, 5));
            Assert.True(json.GetProperty("latency_ms").GetDouble() > 0);
        }
        var three = await PostAsync(client, Png(bytes), "?k=3");
        Assert.Equal(expected.Take(3).Select(p => p.Index), Predictions(three.Json).Select(p => p.Index));
    }

    [SkippableFact]
    public async Task RefusesBadRequestsWith400AndJson()
    {
        Fixtures.Require();
        var server = await model.ServerAsync();
        using var client = Client(server);
        var bytes = await File.ReadAllBytesAsync(ServedModel.Chelsea);
        AssertError(HttpStatusCode.BadRequest, await PostAsync(client, new StringContent("not an image")), "not a decodable image");
        AssertError(HttpStatusCode.BadRequest, await PostAsync(client, Png(bytes[..(bytes.Length / 2)])), "truncated");
        AssertError(HttpStatusCode.BadRequest, await PostAsync(client, Png([])), "no body");
        using var wrongField = new MultipartFormDataContent { { Png(bytes), "picture", "chelsea.png" } };
        AssertError(HttpStatusCode.BadRequest, await PostAsync(client, wrongField), "no 'image' field");
        foreach (var k in new[] { "0", "1001", "two", "-1" })
            AssertError(HttpStatusCode.BadRequest, await PostAsync(client, Png(bytes), "?k=" + k), "k must be a whole number from 1 to 1000");
    }

    [SkippableFact]
    public async Task RefusesBodiesOverTheLimitWith413WithOrWithoutALength()
    {
        Fixtures.Require();
        await using var server = await InferenceServer.StartAsync(model.Options() with { MaxRequestBytes = 4096 });
        using var client = Client(server);
        var bytes = await File.ReadAllBytesAsync(ServedModel.Chelsea);
        Assert.True(bytes.Length > 4096);
        AssertError(HttpStatusCode.RequestEntityTooLarge, await PostAsync(client, Png(bytes[..4097])), "larger than the server's limit of 4096 bytes");
        // Chunked: no length announced, the limit is found while reading.
        var chunked = new StreamContent(new MemoryStream(bytes[..8192]));
        client.DefaultRequestHeaders.TransferEncodingChunked = true;
        AssertError(HttpStatusCode.RequestEntityTooLarge, await PostAsync(client, chunked), "larger than the server's limit");
        Assert.Equal(2, server.Metrics.Count(413));
    }

    [SkippableFact]
    public async Task RefusesWith503WhenTheQueueIsFullAndServesTheAdmittedRequest()
    {
        Fixtures.Require();
        await using var server = await InferenceServer.StartAsync(model.Options() with { QueueCapacity = 1 });
        using var client = Client(server);
        var bytes = await File.ReadAllBytesAsync(ServedModel.Chelsea);
        var held = new HeldContent(bytes);
        var first = client.PostAsync(InferenceServer.ClassifyPath, held);
        await WaitUntil(() => server.Queued == 1);
        AssertError(HttpStatusCode.ServiceUnavailable, await PostAsync(client, Png(bytes)), "all 1 places in its queue are taken");
        held.Release();
        using var response = await first;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Png(bytes))).Status);
    }

    [SkippableFact]
    public async Task StoppingFinishesTheRequestInFlight()
    {
        Fixtures.Require();
        var server = await InferenceServer.StartAsync(model.Options());
        using var client = Client(server);
        var held = new HeldContent(await File.ReadAllBytesAsync(ServedModel.Chelsea));
        var inFlight = client.PostAsync(InferenceServer.ClassifyPath, held);
        await WaitUntil(() => server.Queued == 1);
        var stopping = server.StopAsync();
        // The stop waits for the request: it cannot finish while half of the body is still to come.
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted);
        held.Release();
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(5, Predictions(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement).Count);
        await stopping;
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
    }

    [SkippableFact]
    public async Task HealthzDescribesTheModel()
    {
        Fixtures.Require();
        var server = await model.ServerAsync();
        using var client = Client(server);
        var health = JsonDocument.Parse(await client.GetStringAsync("/healthz")).RootElement;
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal("s0.onnx", health.GetProperty("model").GetString());
        Assert.Equal(1000, health.GetProperty("classes").GetInt32());
        Assert.Equal(224, health.GetProperty("input_size").GetInt32());
    }

    [SkippableFact]
    public async Task MetricsCountRequestsByStatusAndTheirLatency()
    {
        Fixtures.Require();
        await using var server = await InferenceServer.StartAsync(model.Options());
        using var client = Client(server);
        var before = Scrape(await client.GetStringAsync("/metrics"));
        var bytes = await File.ReadAllBytesAsync(ServedModel.Chelsea);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Png(bytes))).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Png(bytes))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(client, new StringContent("x"))).Status);
        using var text = await client.GetAsync("/metrics");
        Assert.Equal("text/plain", text.Content.Headers.ContentType?.MediaType);
        var after = Scrape(await text.Content.ReadAsStringAsync());
        Assert.False(before.ContainsKey("mobileone_requests_total{status=\"200\"}"));
        Assert.Equal(2, after["mobileone_requests_total{status=\"200\"}"]);
        Assert.Equal(1, after["mobileone_requests_total{status=\"400\"}"]);
        Assert.Equal(before["mobileone_request_errors_total"] + 1, after["mobileone_request_errors_total"]);
        Assert.Equal(2, after["mobileone_request_duration_seconds_count"]);
        Assert.Equal(2, after["mobileone_request_duration_seconds_bucket{le=\"+Inf\"}"]);
        Assert.True(after["mobileone_request_duration_seconds_sum"] > 0);
        Assert.Equal(0, after["mobileone_queue_requests"]);
        Assert.True(after["process_resident_memory_bytes"] > 0);
    }

    /// <summary>Each sample line of a Prometheus text page: name with labels, and value.</summary>
    internal static Dictionary<string, double> Scrape(string text) =>
        text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));

    [SkippableFact]
    public async Task ServesASelfContainedPage()
    {
        Fixtures.Require();
        var server = await model.ServerAsync();
        using var client = Client(server);
        using var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains(InferenceServer.ClassifyPath, html);
        Assert.Contains("type=\"file\"", html);
        Assert.DoesNotMatch(new Regex(@"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"<(script|link|img|iframe)[^>]+(src|href)\s*=", RegexOptions.IgnoreCase), html);
    }

    [Fact]
    public void ByteSizesParseWithUnitsAndRefuseNonsense()
    {
        Assert.Equal(10L << 20, ServeOptions.ParseBytes("10MB"));
        Assert.Equal(512L << 10, ServeOptions.ParseBytes("512 KiB"));
        Assert.Equal(1234, ServeOptions.ParseBytes("1234"));
        Assert.Equal(2L << 30, ServeOptions.ParseBytes("2g"));
        foreach (var bad in new[] { "", "MB", "10XB", "-5MB", "1.5MB", "99999999999999GB" })
            Assert.Contains("is not a byte size", Assert.Throws<MobileOneException>(() => ServeOptions.ParseBytes(bad)).Message);
    }

    [Fact]
    public void TheLatencyHistogramIsCumulative()
    {
        var metrics = new ServerMetrics();
        metrics.Completed(200, TimeSpan.FromMilliseconds(20));
        metrics.Completed(200, TimeSpan.FromMilliseconds(300));
        metrics.Completed(503, TimeSpan.FromMilliseconds(1));
        var m = Scrape(metrics.ToPrometheusText(3, 8));
        Assert.Equal(0, m["mobileone_request_duration_seconds_bucket{le=\"0.01\"}"]);
        Assert.Equal(1, m["mobileone_request_duration_seconds_bucket{le=\"0.025\"}"]);
        Assert.Equal(1, m["mobileone_request_duration_seconds_bucket{le=\"0.25\"}"]);
        Assert.Equal(2, m["mobileone_request_duration_seconds_bucket{le=\"0.5\"}"]);
        Assert.Equal(2, m["mobileone_request_duration_seconds_count"]);
        Assert.Equal(0.32, m["mobileone_request_duration_seconds_sum"], 9);
        Assert.Equal(1, m["mobileone_request_errors_total"]);
        Assert.Equal(3, m["mobileone_queue_requests"]);
        Assert.Equal(8, m["mobileone_queue_capacity"]);
    }

    [SkippableFact]
    public void TheServeVerbRefusesBadOptionsInOneLine()
    {
        Fixtures.Require();
        CliTests.AssertCleanError(CliTests.Run("serve", "--onnx", "/nonexistent.onnx", "--port", "0"), 1, "ONNX file not found");
        CliTests.AssertCleanError(CliTests.Run("serve", "--onnx", model.OnnxPath, "--max-bytes", "10XB"), 1, "'10XB' is not a byte size");
        CliTests.AssertCleanError(CliTests.Run("serve", "--onnx", model.OnnxPath, "--port", "70000"), 1, "port must be between 0 and 65535");
        CliTests.AssertCleanError(CliTests.Run("serve", "--onnx", model.OnnxPath, "--host", "example"), 1, "'example' is not an IP address");
        CliTests.AssertCleanError(CliTests.Run("serve", "--onnx", model.OnnxPath, "--queue", "0"), 2, "--queue must be at least 1");
    }

    [SkippableFact]
    public async Task ALoadTestCountsEveryRequestAndReadsTheServersMemory()
    {
        Fixtures.Require();
        var server = await model.ServerAsync();
        long before = server.Metrics.Count(200);
        var settings = new LoadTestSettings(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(0.5));
        var report = await ServerLoadTest.RunAsync(server.Address, await File.ReadAllBytesAsync(ServedModel.Chelsea), settings);
        Assert.Equal(0, report.Errors);
        Assert.Equal(3, report.Clients);
        Assert.True(report.Requests > 0 && report.P99Ms >= report.P50Ms && report.BaselineP50Ms > 0);
        // The server counted them all, and the warm-up's and the lone client's besides.
        Assert.True(server.Metrics.Count(200) - before > report.Requests);
        Assert.True(report.StartResidentMiB > 10 && report.EndResidentMiB > 10);
        // Memory is sampled during the load too, at most every tenth of it, in time order (on a loaded machine each
        // sample's request waits behind the load's, so there may be fewer).
        Assert.InRange(report.ResidentSamples.Count, 1, 10);
        Assert.True(report.ResidentSamples.All(p => p.MiB > 10 && p.Seconds < report.Seconds + 0.5));
        Assert.Equal(report.ResidentSamples.OrderBy(p => p.Seconds), report.ResidentSamples);
        Assert.Contains("errors 0", string.Join('\n', report.TextLines()));
        Assert.Throws<MobileOneException>(() => (settings with { Clients = 0 }).Validated());
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !condition(); await Task.Delay(10))
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "timed out waiting for the server");
    }

    /// <summary>A request body sent in two halves: the second only once <see cref="Release"/> is called, to keep a request in flight.</summary>
    private sealed class HeldContent(byte[] data) : HttpContent
    {
        private readonly TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(data.AsMemory(0, data.Length / 2));
            await stream.FlushAsync();
            await release.Task;
            await stream.WriteAsync(data.AsMemory(data.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}

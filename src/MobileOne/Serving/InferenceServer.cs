using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using MobileOne.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MobileOne.Serving;

/// <summary>
/// An HTTP server (ASP.NET Core on Kestrel) that classifies images with one ONNX classifier:
/// <c>POST /v1/classify</c> (the image as the body, or as the <c>image</c> field of a multipart form; query
/// <c>k</c> for the number of classes), <c>GET /healthz</c>, <c>GET /metrics</c> (Prometheus text) and
/// <c>GET /</c>, a self-contained page to try it. Refusals are JSON: 400 for an undecodable image or a bad
/// request, 413 for a body over the limit, 503 when the queue is full. Stopping finishes the requests in flight.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    /// <summary>The path of the classification endpoint.</summary>
    public const string ClassifyPath = "/v1/classify";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly WebApplication app;
    private readonly ClassificationQueue queue;
    private readonly ServeOptions options;
    private int disposed;

    private InferenceServer(ClassificationQueue queue, ServeOptions options)
    {
        this.queue = queue;
        this.options = options;
        app = Build(options);
        MapRoutes();
    }

    /// <summary>Where the server listens (with the port the system chose when 0 was asked).</summary>
    public Uri Address { get; private set; } = new("http://localhost/");

    /// <summary>The server's counters, as <c>GET /metrics</c> shows them.</summary>
    public ServerMetrics Metrics { get; } = new();

    /// <summary>The classifier served.</summary>
    public ImageClassifier Classifier => queue.Classifier;

    /// <summary>Classification requests admitted now (being read, decoded, waiting for the model or running).</summary>
    public int Queued => queue.Count;

    /// <summary>Loads the model, binds the port and starts serving; throws a <see cref="MobileOneException"/> when either fails.</summary>
    public static async Task<InferenceServer> StartAsync(ServeOptions options, CancellationToken cancel = default)
    {
        options = options.Validated();
        var server = new InferenceServer(new ClassificationQueue(ImageClassifier.FromOnnx(options.OnnxPath, options.Threads), options.QueueCapacity), options);
        try
        {
            await server.app.StartAsync(cancel);
        }
        catch (IOException e)
        {
            await server.StopAsync(CancellationToken.None);
            throw new MobileOneException($"cannot listen on {options.Address}:{options.Port} ({e.Message})");
        }
        var bound = server.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(bound);
        return server;
    }

    private static WebApplication Build(ServeOptions options)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(InferenceServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(options.Address, options.Port);
            k.AddServerHeader = false;
            // The classification endpoint bounds its own reads, so that an oversized body gets a JSON 413.
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton<IHostLifetime, CallerLifetime>();
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout);
        builder.Logging.ClearProviders();
        return builder.Build();
    }

    private void MapRoutes()
    {
        app.MapPost(ClassifyPath, ClassifyAsync);
        app.MapGet("/healthz", c => c.Response.WriteAsJsonAsync(Health(), Json));
        app.MapGet("/metrics", c =>
        {
            c.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return c.Response.WriteAsync(Metrics.ToPrometheusText(queue.Count, queue.Capacity));
        });
        app.MapGet("/", ServePageAsync);
    }

    private HealthResponse Health() => new("ok", Path.GetFileName(options.OnnxPath), Classifier.Engine.NumClasses, Classifier.Preprocessing.Channels, Classifier.Preprocessing.Size);

    private async Task ClassifyAsync(HttpContext context)
    {
        var clock = Stopwatch.StartNew();
        int status = StatusCodes.Status500InternalServerError;
        try
        {
            int topK = TopK(context.Request.Query["k"]);
            using (queue.Admit())
            {
                var image = await ImageUpload.ReadAsync(context.Request, options.MaxRequestBytes, context.RequestAborted);
                var predictions = await queue.ClassifyAsync(image, topK, context.RequestAborted);
                status = StatusCodes.Status200OK;
                await context.Response.WriteAsJsonAsync(new ClassifyResponse(predictions, clock.Elapsed.TotalMilliseconds), Json);
            }
        }
        catch (RequestException e)
        {
            status = e.StatusCode;
            await WriteErrorAsync(context, status, e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = StatusCodes.Status499ClientClosedRequest;
        }
        catch (MobileOneException e)
        {
            // The model failed on a valid input: the server's fault, reported without a stack trace.
            await WriteErrorAsync(context, status, e.Message);
        }
        finally
        {
            Metrics.Completed(status, clock.Elapsed);
        }
    }

    private int TopK(string? text)
    {
        if (string.IsNullOrEmpty(text)) return ServeOptions.DefaultTopK;
        int classes = Classifier.Engine.NumClasses;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k >= 1 && k <= classes) return k;
        throw new RequestException(StatusCodes.Status400BadRequest, $"k must be a whole number from 1 to {classes}, found '{IO.MessageText.Shorten(text, 20)}'");
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorResponse(message, status), Json);
    }

    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("MobileOne.Serving.index.html")
            ?? throw new InvalidOperationException("the page's resource is missing from the assembly");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    });

    private static Task ServePageAsync(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        // The page is self-contained: the policy lets it load nothing from anywhere else.
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src blob:; connect-src 'self'";
        return context.Response.Body.WriteAsync(Page.Value).AsTask();
    }

    /// <summary>
    /// Stops listening, lets the requests in flight finish (up to <see cref="ServeOptions.ShutdownTimeout"/>),
    /// then releases the model.
    /// </summary>
    public async Task StopAsync(CancellationToken cancel = default)
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        try
        {
            await app.StopAsync(cancel);
        }
        finally
        {
            await app.DisposeAsync();
            queue.Dispose();
        }
    }

    /// <summary>Serves until <paramref name="stop"/> is cancelled, then stops as <see cref="StopAsync"/> does.</summary>
    public async Task RunUntilAsync(CancellationToken stop)
    {
        try { await Task.Delay(Timeout.Infinite, stop); }
        catch (OperationCanceledException) { }
        await StopAsync();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>Leaves starting and stopping to the code that owns the server: no console signal handlers.</summary>
    private sealed class CallerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

using System.Text.Json;
using MobileOne.Serving;

namespace MobileOne.Tests;

/// <summary>
/// The fixture's MobileOne-S0 exported to ONNX once for the serving tests (by the <c>export</c> verb, as a
/// user would), and a server on it on a free loopback port, started on first use and stopped with the fixture.
/// </summary>
public sealed class ServedModel : IAsyncLifetime
{
    private readonly TempDir dir = new();
    private readonly Lazy<string> onnx;
    private readonly SemaphoreSlim starting = new(1, 1);
    private InferenceServer? server;

    public ServedModel() => onnx = new(Export);

    public static string Chelsea => Path.Combine(Fixtures.Root, "images", "chelsea.png");

    /// <summary>The exported model's path (the test must have called <see cref="Fixtures.Require"/>).</summary>
    public string OnnxPath => onnx.Value;

    private string Export()
    {
        var path = dir.File("s0.onnx");
        var r = CliTests.Run("export", "--checkpoint", Fixtures.MobileOne("mobileone_s0.pth.tar"), "--output", path);
        Assert.True(r.Code == 0, r.Err);
        return path;
    }

    /// <summary>Options for a server on the exported model on a free loopback port, with one thread.</summary>
    public ServeOptions Options() => new() { OnnxPath = OnnxPath, Port = 0, Threads = 1 };

    /// <summary>The shared server with the default limits.</summary>
    public async Task<InferenceServer> ServerAsync()
    {
        await starting.WaitAsync();
        try { return server ??= await InferenceServer.StartAsync(Options()); }
        finally { starting.Release(); }
    }

    /// <summary>What <c>mobileone predict --onnx</c> says of <paramref name="image"/>: (index, label, probability) from most probable.</summary>
    public List<(int Index, string Label, double P)> Predict(string image, int topK)
    {
        var r = CliTests.Run("predict", "--onnx", OnnxPath, image, "--json", "--topk", topK.ToString());
        Assert.True(r.Code == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.GetProperty("images")[0].GetProperty("predictions").EnumerateArray()
            .Select(p => (p.GetProperty("index").GetInt32(), p.GetProperty("label").GetString()!, p.GetProperty("probability").GetDouble())).ToList();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (server is not null) await server.StopAsync();
        dir.Dispose();
        starting.Dispose();
    }
}

[CollectionDefinition(nameof(ServedModel))]
public sealed class ServedModelCollection : ICollectionFixture<ServedModel>;

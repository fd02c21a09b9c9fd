using Microsoft.Playwright;

namespace MobileOne.Tests;

/// <summary>
/// The serving page in a real headless Chromium (Debian's <c>chromium</c>, driven by Playwright without a
/// downloaded browser): upload the fixture image, see the top-5 bars and the same top-1 label as <c>predict</c>.
/// With <see cref="ScreenshotVariable"/> set, the page as it then looks is saved there (docs/serve.png comes from that).
/// </summary>
[Collection(nameof(ServedModel))]
public sealed class BrowserTests(ServedModel model)
{
    /// <summary>Debian's chromium, which .ci/run installs.</summary>
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Environment variable naming where to save the page's screenshot (unset: none is taken).</summary>
    public const string ScreenshotVariable = "MOBILEONE_SERVE_SCREENSHOT";

    private static void RequireChromium()
    {
        if (File.Exists(Chromium)) return;
        if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 }) throw new InvalidOperationException($"{Chromium} missing in CI; .ci/run installs it");
        Skip.If(true, $"{Chromium} is not installed (apt-get install chromium)");
    }

    [SkippableFact]
    public async Task ThePageClassifiesAnUploadedImageAsPredictDoes()
    {
        Fixtures.Require();
        RequireChromium();
        var expected = model.Predict(ServedModel.Chelsea, 5);
        var server = await model.ServerAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 900, Height = 640 } });
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url);
        await page.GotoAsync(server.Address.ToString());
        await Assertions.Expect(page.Locator("#model")).ToContainTextAsync("s0.onnx: 1000 classes");
        await page.Locator("#file").SetInputFilesAsync(ServedModel.Chelsea);
        var rows = page.Locator(".prediction");
        await Assertions.Expect(rows).ToHaveCountAsync(5);
        Assert.Equal(expected.Select(p => p.Label), await page.Locator(".prediction .label span:first-child").AllTextContentsAsync());
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("chelsea.png:");
        Assert.True(await page.Locator("#preview").IsVisibleAsync());
        // The top bar is the widest.
        var widths = await page.Locator(".fill").EvaluateAllAsync<double[]>("bars => bars.map(b => b.getBoundingClientRect().width)");
        Assert.Equal(widths.Max(), widths[0]);
        Assert.Empty(failedRequests);
        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } path)
            await page.ScreenshotAsync(new() { Path = path, FullPage = true });
    }
}

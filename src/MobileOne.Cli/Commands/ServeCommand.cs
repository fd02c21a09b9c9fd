using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using MobileOne.Serving;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone serve</c>: an HTTP inference server for an ONNX classifier, until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("serve", $"Serve an ONNX image classifier over HTTP: POST {InferenceServer.ClassifyPath} (the image as the body or as the 'image' field of a form; ?k= for the top-k), GET /healthz, GET /metrics (Prometheus), and a page to try it at /.");
        var onnx = new Option<FileInfo>("--onnx") { Description = "ONNX image classifier (preprocessing and class names read from its metadata).", Required = true };
        var host = new Option<string>("--host") { Description = "IP address to listen on (default loopback; 0.0.0.0 for every interface).", DefaultValueFactory = _ => IPAddress.Loopback.ToString() };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => ServeOptions.DefaultPort };
        var threads = SharedOptions.Threads("ONNX Runtime threads of the one shared session (0 = runtime default).", 0, minimum: 0);
        var queue = new Option<int>("--queue") { Description = "Requests admitted at once; more are refused with 503.", DefaultValueFactory = _ => ServeOptions.DefaultQueueCapacity };
        var maxBytes = new Option<string>("--max-bytes") { Description = "Largest request body (B, KB, MB or GB); larger ones are refused with 413.", DefaultValueFactory = _ => $"{ServeOptions.DefaultMaxRequestBytes >> 20}MB" };
        CliValidation.AtLeast(port, 0);
        CliValidation.AtLeast(queue, 1);
        command.Add(onnx);
        command.Add(host);
        command.Add(port);
        command.Add(threads);
        command.Add(queue);
        command.Add(maxBytes);
        command.SetAction(parsed =>
        {
            var options = new ServeOptions
            {
                OnnxPath = parsed.GetValue(onnx)!.FullName,
                Address = IPAddress.TryParse(parsed.GetValue(host), out var ip) ? ip : throw new MobileOneException($"'{parsed.GetValue(host)}' is not an IP address"),
                Port = parsed.GetValue(port),
                Threads = parsed.GetValue(threads),
                QueueCapacity = parsed.GetValue(queue),
                MaxRequestBytes = ServeOptions.ParseBytes(parsed.GetValue(maxBytes)!),
            };
            using var stop = new CancellationTokenSource();
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            var server = InferenceServer.StartAsync(options).GetAwaiter().GetResult();
            var model = server.Classifier;
            console.Out.WriteLine($"serving {Path.GetFileName(options.OnnxPath)} ({model.Engine.NumClasses} classes, {model.Preprocessing.Size}x{model.Preprocessing.Size}) on {server.Address}");
            console.Out.WriteLine($"try it at {server.Address}; classify with: curl --data-binary @image.jpg '{server.Address}v1/classify?k=5'; Ctrl+C stops");
            console.Out.Flush();
            server.RunUntilAsync(stop.Token).GetAwaiter().GetResult();
            console.Out.WriteLine($"stopped after {server.Metrics.Count(200)} classifications");
            return 0;

            void Stop(PosixSignalContext context)
            {
                // Graceful: the requests in flight finish before the process exits.
                context.Cancel = true;
                stop.Cancel();
            }
        });
        return command;
    }
}

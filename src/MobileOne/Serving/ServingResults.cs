using MobileOne.Inference;

namespace MobileOne.Serving;

/// <summary>The answer to a classification request (serialised in snake case: <c>predictions</c>, <c>latency_ms</c>).</summary>
/// <param name="Predictions">The top-k classes, most probable first.</param>
/// <param name="LatencyMs">Time the server spent on the request, from its first byte read to the answer.</param>
public sealed record ClassifyResponse(IReadOnlyList<Prediction> Predictions, double LatencyMs);

/// <summary>The body of every refusal: the message and the HTTP status.</summary>
/// <param name="Error">What was wrong, in words a client can act on.</param>
/// <param name="Status">The HTTP status, repeated for clients that see only the body.</param>
public sealed record ErrorResponse(string Error, int Status);

/// <summary>What <c>GET /healthz</c> reports: the server is up, and which model it serves.</summary>
/// <param name="Status">"ok".</param>
/// <param name="Model">The model file's name.</param>
/// <param name="Classes">The number of classes.</param>
/// <param name="Channels">Channels of the network's input (3, or 1 for grey models).</param>
/// <param name="InputSize">Side of the square network input, in pixels.</param>
public sealed record HealthResponse(string Status, string Model, int Classes, int Channels, int InputSize);

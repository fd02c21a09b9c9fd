namespace MobileOne.Serving;

/// <summary>A request the server refuses, with the HTTP status that says why (400, 413, 503, ...).</summary>
public sealed class RequestException : MobileOneException
{
    /// <summary>Creates the refusal with its status and a message meant for the client.</summary>
    public RequestException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status of the answer.</summary>
    public int StatusCode { get; }
}

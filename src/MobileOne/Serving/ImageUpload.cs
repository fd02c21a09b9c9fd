using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace MobileOne.Serving;

/// <summary>
/// The encoded image a request carries: its whole body, or the <c>image</c> field of a multipart form.
/// The body is read to at most the size limit before anything is parsed.
/// </summary>
internal static class ImageUpload
{
    /// <summary>The form field that carries the image in a multipart request.</summary>
    public const string FieldName = "image";

    /// <summary>The image bytes of <paramref name="request"/>; 413 past <paramref name="maxBytes"/>, 400 for a form without an image.</summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancel)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        var body = await ReadBoundedAsync(request.Body, request.ContentLength, maxBytes, cancel);
        if (body.Length == 0) throw new RequestException(StatusCodes.Status400BadRequest, "the request has no body: send the image's bytes, or a multipart form with an 'image' field");
        return IsMultipart(request.ContentType, out var boundary) ? await FormFieldAsync(body, boundary, cancel) : body;
    }

    private static RequestException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than the server's limit of {maxBytes} bytes");

    private static async Task<byte[]> ReadBoundedAsync(Stream body, long? length, long maxBytes, CancellationToken cancel)
    {
        try
        {
            // An announced length (already checked against the limit) is read into one array of that size.
            if (length is long exact)
            {
                var data = new byte[exact];
                await body.ReadExactlyAsync(data, cancel);
                return data;
            }
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(chunk, cancel)) > 0)
            {
                if (buffer.Length + n > maxBytes) throw TooLarge(maxBytes);
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }
        catch (IOException e) when (!cancel.IsCancellationRequested)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, $"the request body could not be read ({e.Message})");
        }
    }

    private static bool IsMultipart(string? contentType, out string boundary)
    {
        boundary = "";
        if (!MediaTypeHeaderValue.TryParse(contentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return false;
        boundary = HeaderUtilities.RemoveQuotes(type.Boundary).ToString();
        if (boundary.Length is 0 or > 70) throw new RequestException(StatusCodes.Status400BadRequest, "the multipart request has no valid boundary");
        return true;
    }

    private static async Task<byte[]> FormFieldAsync(byte[] body, string boundary, CancellationToken cancel)
    {
        var reader = new MultipartReader(boundary, new MemoryStream(body, writable: false));
        try
        {
            while (await reader.ReadNextSectionAsync(cancel) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !HeaderUtilities.RemoveQuotes(disposition.Name).Equals(FieldName, StringComparison.Ordinal))
                    continue;
                using var field = new MemoryStream();
                await section.Body.CopyToAsync(field, cancel);
                return field.ToArray();
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new RequestException(StatusCodes.Status400BadRequest, $"the multipart form is malformed ({e.Message})");
        }
        throw new RequestException(StatusCodes.Status400BadRequest, $"the multipart form has no '{FieldName}' field");
    }
}

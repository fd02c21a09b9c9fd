namespace MobileOne.Data;

/// <summary>An 8-bit RGB image, row-major, 3 bytes per pixel.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Interleaved R, G, B bytes.</param>
public sealed record RgbImage(int Width, int Height, byte[] Pixels);

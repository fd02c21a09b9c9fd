using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Checkpoints;

/// <summary>
/// A tensor as stored in a checkpoint: element type, shape and the raw little-endian bytes in C order.
/// Kept apart from TorchSharp so files can be validated, renamed and rewritten without a model.
/// </summary>
public sealed class CheckpointTensor
{
    /// <summary>Creates a tensor; the byte count must match the shape and element type.</summary>
    public CheckpointTensor(TensorDType dtype, long[] shape, byte[] data)
    {
        long expected = checked(ElementCount(shape) * dtype.Size());
        if (data.LongLength != expected)
            throw new ArgumentException($"{expected} bytes expected for {dtype.DisplayName()} {FormatShape(shape)}, found {data.LongLength}");
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>Element type.</summary>
    public TensorDType DType { get; }

    /// <summary>Shape (empty for a scalar).</summary>
    public long[] Shape { get; }

    /// <summary>Raw little-endian bytes in C order.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements.</summary>
    public long NumElements => ElementCount(Shape);

    /// <summary>Product of the dimensions, with overflow checked.</summary>
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {FormatShape(shape)}");
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>Shape as PyTorch prints it: [48, 3, 3, 3].</summary>
    public static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>The values as a TorchSharp tensor of the same element type (half types become float32).</summary>
    public Tensor ToTorch()
    {
        var span = Data.AsSpan();
        return DType switch
        {
            TensorDType.Float32 => tensor(MemoryMarshal.Cast<byte, float>(span).ToArray(), Shape),
            TensorDType.Float64 => tensor(MemoryMarshal.Cast<byte, double>(span).ToArray(), Shape),
            TensorDType.Float16 => tensor(MemoryMarshal.Cast<byte, Half>(span).ToArray().Select(h => (float)h).ToArray(), Shape),
            TensorDType.BFloat16 => tensor(MemoryMarshal.Cast<byte, ushort>(span).ToArray()
                .Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray(), Shape),
            TensorDType.Int64 => tensor(MemoryMarshal.Cast<byte, long>(span).ToArray(), Shape),
            TensorDType.Int32 => tensor(MemoryMarshal.Cast<byte, int>(span).ToArray(), Shape),
            TensorDType.Int16 => tensor(MemoryMarshal.Cast<byte, short>(span).ToArray(), Shape),
            TensorDType.Int8 => tensor(MemoryMarshal.Cast<byte, sbyte>(span).ToArray(), Shape),
            TensorDType.UInt8 => tensor(span.ToArray(), Shape),
            _ => tensor(span.ToArray().Select(b => b != 0).ToArray(), Shape),
        };
    }

    /// <summary>Copies a TorchSharp tensor into checkpoint form (half-precision floats are stored as float32).</summary>
    public static CheckpointTensor FromTorch(Tensor t)
    {
        using var c = t.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? t.detach().cpu().to(float32).contiguous() : t.detach().cpu().contiguous();
        long[] shape = c.shape;
        return c.dtype switch
        {
            ScalarType.Float32 => new(TensorDType.Float32, shape, MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()).ToArray()),
            ScalarType.Float64 => new(TensorDType.Float64, shape, MemoryMarshal.AsBytes(c.data<double>().ToArray().AsSpan()).ToArray()),
            ScalarType.Int64 => new(TensorDType.Int64, shape, MemoryMarshal.AsBytes(c.data<long>().ToArray().AsSpan()).ToArray()),
            _ => throw new NotSupportedException($"cannot store a {c.dtype} tensor"),
        };
    }
}

using System.Runtime.InteropServices;
using Google.Protobuf;
using MobileOne.Export.Onnx;

namespace MobileOne.Quantization;

/// <summary>Reads float initializers of a graph from any file, checked against their dimensions, and writes the integer ones quantisation adds.</summary>
internal static class OnnxTensors
{
    /// <summary>The values of a float32 initializer (raw or typed data), checked against its dimensions; <paramref name="source"/> names the file in errors.</summary>
    public static float[] ReadFloats(TensorProto t, string source)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new MobileOneException($"{source}: initializer '{t.Name}' is not float32 (data type {t.DataType})");
        long count = ElementCount(t, source);
        ResourceLimits.Current.CheckTensorBytes(count * 4, $"{source}: initializer '{t.Name}'");
        if (t.HasRawData)
        {
            if (t.RawData.Length != count * 4)
                throw new MobileOneException($"{source}: initializer '{t.Name}' holds {t.RawData.Length:N0} bytes; its dimensions need {count * 4:N0}");
            return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }
        if (t.FloatData.Count != count)
            throw new MobileOneException($"{source}: initializer '{t.Name}' holds {t.FloatData.Count:N0} values; its dimensions need {count:N0}");
        return t.FloatData.ToArray();
    }

    /// <summary>The product of the dimensions, each non-negative, without overflow.</summary>
    public static long ElementCount(TensorProto t, string source)
    {
        long count = 1;
        try
        {
            foreach (var d in t.Dims)
                count = d >= 0 ? checked(count * d) : throw new MobileOneException($"{source}: initializer '{t.Name}' has a negative dimension ({d})");
        }
        catch (OverflowException) { throw new MobileOneException($"{source}: initializer '{t.Name}' has impossibly large dimensions ({string.Join(", ", t.Dims)})"); }
        return count;
    }

    /// <summary>A float32 initializer of shape <paramref name="dims"/> (a scalar when empty).</summary>
    public static TensorProto Floats(string name, float[] values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>An int8 initializer.</summary>
    public static TensorProto Int8(string name, sbyte[] values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>A uint8 initializer.</summary>
    public static TensorProto UInt8(string name, byte[] values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Uint8, values, dims);

    /// <summary>An int32 initializer (little-endian, as the raw data of ONNX are).</summary>
    public static TensorProto Int32(string name, int[] values, params long[] dims) =>
        Raw(name, TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    private static TensorProto Raw(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }
}

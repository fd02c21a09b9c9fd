namespace MobileOne.Checkpoints;

/// <summary>Element types a checkpoint tensor may have, with their names in each file format.</summary>
public enum TensorDType
{
    /// <summary>32-bit float.</summary>
    Float32,
    /// <summary>64-bit float.</summary>
    Float64,
    /// <summary>IEEE half precision.</summary>
    Float16,
    /// <summary>bfloat16.</summary>
    BFloat16,
    /// <summary>64-bit signed integer (BatchNorm's num_batches_tracked).</summary>
    Int64,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>16-bit signed integer.</summary>
    Int16,
    /// <summary>8-bit signed integer.</summary>
    Int8,
    /// <summary>8-bit unsigned integer.</summary>
    UInt8,
    /// <summary>Boolean, one byte each.</summary>
    Bool,
}

/// <summary>Sizes and format names of <see cref="TensorDType"/>.</summary>
public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this TensorDType t) => t switch
    {
        TensorDType.Float64 or TensorDType.Int64 => 8,
        TensorDType.Float32 or TensorDType.Int32 => 4,
        TensorDType.Float16 or TensorDType.BFloat16 or TensorDType.Int16 => 2,
        _ => 1,
    };

    /// <summary>The dtype of a PyTorch storage class name (<c>FloatStorage</c>, ...), or null.</summary>
    public static TensorDType? FromTorchStorage(string name) => name switch
    {
        "FloatStorage" => TensorDType.Float32,
        "DoubleStorage" => TensorDType.Float64,
        "HalfStorage" => TensorDType.Float16,
        "BFloat16Storage" => TensorDType.BFloat16,
        "LongStorage" => TensorDType.Int64,
        "IntStorage" => TensorDType.Int32,
        "ShortStorage" => TensorDType.Int16,
        "CharStorage" => TensorDType.Int8,
        "ByteStorage" => TensorDType.UInt8,
        "BoolStorage" => TensorDType.Bool,
        _ => null,
    };

    /// <summary>The PyTorch storage class name of a dtype.</summary>
    public static string ToTorchStorage(this TensorDType t) => t switch
    {
        TensorDType.Float32 => "FloatStorage",
        TensorDType.Float64 => "DoubleStorage",
        TensorDType.Float16 => "HalfStorage",
        TensorDType.BFloat16 => "BFloat16Storage",
        TensorDType.Int64 => "LongStorage",
        TensorDType.Int32 => "IntStorage",
        TensorDType.Int16 => "ShortStorage",
        TensorDType.Int8 => "CharStorage",
        TensorDType.UInt8 => "ByteStorage",
        _ => "BoolStorage",
    };

    /// <summary>The dtype of a safetensors dtype name (<c>F32</c>, ...), or null.</summary>
    public static TensorDType? FromSafetensors(string name) => name switch
    {
        "F32" => TensorDType.Float32,
        "F64" => TensorDType.Float64,
        "F16" => TensorDType.Float16,
        "BF16" => TensorDType.BFloat16,
        "I64" => TensorDType.Int64,
        "I32" => TensorDType.Int32,
        "I16" => TensorDType.Int16,
        "I8" => TensorDType.Int8,
        "U8" => TensorDType.UInt8,
        "BOOL" => TensorDType.Bool,
        _ => null,
    };

    /// <summary>The safetensors dtype name.</summary>
    public static string ToSafetensors(this TensorDType t) => t switch
    {
        TensorDType.Float32 => "F32",
        TensorDType.Float64 => "F64",
        TensorDType.Float16 => "F16",
        TensorDType.BFloat16 => "BF16",
        TensorDType.Int64 => "I64",
        TensorDType.Int32 => "I32",
        TensorDType.Int16 => "I16",
        TensorDType.Int8 => "I8",
        TensorDType.UInt8 => "U8",
        _ => "BOOL",
    };

    /// <summary>Lower-case name as PyTorch prints it (float32, int64, ...).</summary>
    public static string DisplayName(this TensorDType t) => t.ToString().ToLowerInvariant();
}

namespace MobileOne.Zoo;

/// <summary>The element-wise activations the zoo's networks and the study's probe network use.</summary>
public enum ActivationKind
{
    /// <summary>No activation.</summary>
    None,
    /// <summary>max(0, x).</summary>
    ReLU,
    /// <summary>min(max(0, x), 6) (MobileNetV2).</summary>
    ReLU6,
    /// <summary>x * relu6(x + 3) / 6 (MobileNetV3).</summary>
    Hardswish,
    /// <summary>relu6(x + 3) / 6 (MobileNetV3's SE gate).</summary>
    Hardsigmoid,
    /// <summary>x * sigmoid(x), also called Swish (EfficientNet).</summary>
    SiLU,
    /// <summary>x * Phi(x), the exact GELU (transformers).</summary>
    GELU,
    /// <summary>1 / (1 + exp(-x)).</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>max(0.01 x, x).</summary>
    LeakyReLU,
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// The building pieces torchvision's networks share, with torchvision's state-dict names: its
/// Conv2dNormActivation is a Sequential of conv ("0"), BatchNorm ("1") and activation ("2").
/// </summary>
public static class Layers
{
    /// <summary>A Sequential whose children are named "0", "1", ... as PyTorch's is.</summary>
    public static Sequential Numbered(IEnumerable<nn.Module<Tensor, Tensor>?> modules) =>
        nn.Sequential(modules.OfType<nn.Module<Tensor, Tensor>>().Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m)).ToArray());

    /// <summary>A Sequential of the given modules, named "0", "1", ... (nulls skipped).</summary>
    public static Sequential Numbered(params nn.Module<Tensor, Tensor>?[] modules) => Numbered((IEnumerable<nn.Module<Tensor, Tensor>?>)modules);

    /// <summary>A bias-free convolution with "same" padding for odd kernels, dilated or not.</summary>
    public static Conv2d Conv(long inChannels, long outChannels, long kernel, long stride = 1, long groups = 1, bool bias = false, long dilation = 1) =>
        nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation, groups: groups, bias: bias);

    /// <summary>BatchNorm2d with the given epsilon and momentum (torchvision's MobileNetV3 uses eps 1e-3, its SSDLite also momentum 0.03).</summary>
    public static BatchNorm2d Norm(long channels, double eps = 1e-5, double momentum = 0.1) => nn.BatchNorm2d(channels, eps: eps, momentum: momentum);

    /// <summary>Convolution, BatchNorm and activation: torchvision's Conv2dNormActivation.</summary>
    public static Sequential ConvNormActivation(long inChannels, long outChannels, long kernel = 3, long stride = 1, long groups = 1,
        ActivationKind activation = ActivationKind.ReLU, double eps = 1e-5, double momentum = 0.1, long dilation = 1) =>
        Numbered(Conv(inChannels, outChannels, kernel, stride, groups, dilation: dilation), Norm(outChannels, eps, momentum), Activation.Create(activation));

    /// <summary>
    /// Rounds <paramref name="value"/> to a multiple of <paramref name="divisor"/> without going more than
    /// 10 % below it: the channel rule of MobileNetV2/V3 and EfficientNet.
    /// </summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        int rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }
}

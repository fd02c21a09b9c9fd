using MobileOne.Checkpoints;
using MobileOne.Data;

namespace MobileOne.Tests;

/// <summary>Tests that replace the process-wide limits run alone.</summary>
[CollectionDefinition(nameof(ResourceLimitsTests), DisableParallelization = true)]
public sealed class ResourceLimitsCollection;

/// <summary>The limits: their environment variables, their messages, and that raising one lets a file through.</summary>
[Collection(nameof(ResourceLimitsTests))]
public sealed class ResourceLimitsTests : FileTest
{
    private static T With<T>(ResourceLimits limits, Func<T> work)
    {
        var saved = ResourceLimits.Current;
        ResourceLimits.Current = limits;
        try { return work(); }
        finally { ResourceLimits.Current = saved; }
    }

    [Fact]
    public void EnvironmentVariablesOverrideTheDefaults()
    {
        Environment.SetEnvironmentVariable(ResourceLimits.TensorVariable, "64");
        Environment.SetEnvironmentVariable(ResourceLimits.ImageVariable, "3");
        try
        {
            var limits = ResourceLimits.FromEnvironment();
            Assert.Equal(64L << 20, limits.MaxTensorBytes);
            Assert.Equal(3L << 20, limits.MaxImagePixels);
            Assert.Equal(new ResourceLimits().MaxModelParameters, limits.MaxModelParameters);
            Environment.SetEnvironmentVariable(ResourceLimits.TensorVariable, "lots");
            Assert.Contains($"{ResourceLimits.TensorVariable}=lots", Assert.Throws<MobileOneException>(ResourceLimits.FromEnvironment).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ResourceLimits.TensorVariable, null);
            Environment.SetEnvironmentVariable(ResourceLimits.ImageVariable, null);
        }
    }

    [Fact]
    public void ATensorAboveTheLimitIsRefusedUntilTheLimitIsRaised()
    {
        var path = Dir.File("big.safetensors");
        var state = new StateDict { ["w"] = new CheckpointTensor(TensorDType.Float32, [1 << 19], new byte[2 << 20]) };
        CheckpointFile.Write(path, state, CheckpointFormat.Safetensors);
        var e = Assert.Throws<ResourceLimitException>(() => With(new ResourceLimits { MaxTensorBytes = 1 << 20 }, () => CheckpointFile.Read(path)));
        Assert.Contains("tensor 'w' needs 2 MiB, above the limit of 1 MiB", e.Message);
        Assert.Contains(ResourceLimits.TensorVariable, e.Message);
        Assert.Equal(2 << 20, With(new ResourceLimits { MaxTensorBytes = 4 << 20 }, () => CheckpointFile.Read(path))["w"].Data.Length);
    }

    [Fact]
    public void AnInputAboveTheLimitIsRefusedByThePreprocessing()
    {
        var p = new ImagePreprocessor { Size = 2048 };
        var e = Assert.Throws<ResourceLimitException>(() => With(new ResourceLimits { MaxInputPixels = 1 << 20 }, p.Validated));
        Assert.Contains("2048x2048", e.Message);
        Assert.Contains(ResourceLimits.InputVariable, e.Message);
        Assert.Same(p, p.Validated());
    }
}

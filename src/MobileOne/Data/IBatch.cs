namespace MobileOne.Data;

/// <summary>What any batch tells, whatever its samples hold: where it sits in its epoch, its size and its resolution.</summary>
public interface IBatch
{
    /// <summary>Index of the batch within its epoch.</summary>
    int Index { get; }

    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Input height and width.</summary>
    int Size { get; }
}

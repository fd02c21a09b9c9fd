namespace MobileOne.Study;

/// <summary>One model in a study scatter plot.</summary>
/// <param name="Label">Name drawn beside the point.</param>
/// <param name="X">Horizontal value (in data units, not log10, even on a log axis).</param>
/// <param name="Y">Vertical value (in data units).</param>
/// <param name="Highlight">Draws the point larger and in the accent colour (used for MobileOne).</param>
public sealed record StudyPoint(string Label, double X, double Y, bool Highlight);

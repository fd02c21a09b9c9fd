using System.Globalization;

namespace MobileOne.Data;

/// <summary>A list of class indices as a person types it: <c>0-6</c>, <c>7,8,9</c>, <c>0,2-4</c>.</summary>
public static class ClassList
{
    /// <summary>Largest index accepted: IDX labels are one byte.</summary>
    public const int MaxIndex = IdxClassNames.MaxClasses - 1;

    /// <summary>
    /// The indices in the order given, ranges expanded (ascending). Throws <see cref="MobileOneException"/> for
    /// an empty list, a part that is neither an index nor a range LOW-HIGH with LOW &lt;= HIGH, an index above
    /// <see cref="MaxIndex"/>, or an index given twice.
    /// </summary>
    public static int[] Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new MobileOneException("the class list is empty");
        var indices = new List<int>();
        var seen = new HashSet<int>();
        foreach (var part in text.Split(','))
            foreach (var index in Expand(part.Trim(), text))
            {
                if (!seen.Add(index)) throw new MobileOneException($"class list '{Shown(text)}': class {index} is listed twice");
                indices.Add(index);
            }
        return [.. indices];
    }

    /// <summary>Throws unless every index is below <paramref name="classCount"/>, naming the data set <paramref name="source"/>.</summary>
    public static void CheckRange(IReadOnlyList<int> classes, int classCount, string source)
    {
        if (classes.Count == 0) throw new MobileOneException("the class list is empty");
        foreach (var c in classes)
            if (c < 0 || c >= classCount) throw new MobileOneException($"class {c} is not among the {classCount} classes (0-{classCount - 1}) of {source}");
    }

    private static IEnumerable<int> Expand(string part, string text)
    {
        var ends = part.Split('-');
        if (part.Length == 0 || ends.Length > 2)
            throw new MobileOneException($"class list '{Shown(text)}': '{Shown(part)}' is neither a class index nor a range such as 0-6");
        int low = Index(ends[0], text), high = ends.Length == 2 ? Index(ends[1], text) : low;
        if (low > high) throw new MobileOneException($"class list '{Shown(text)}': the range {low}-{high} runs backwards");
        return Enumerable.Range(low, high - low + 1);
    }

    private static int Index(string s, string text)
    {
        s = s.Trim();
        if (s.Length == 0 || !s.All(char.IsAsciiDigit))
            throw new MobileOneException($"class list '{Shown(text)}': '{Shown(s)}' is not a class index (0, 1, 2, ...)");
        // Compared as text first: a 30-digit number must not overflow, nor 0-2000000000 expand to a range.
        if (s.TrimStart('0').Length > 3 || int.Parse(s, CultureInfo.InvariantCulture) > MaxIndex)
            throw new MobileOneException($"class list '{Shown(text)}': class {Shown(s)} is above {MaxIndex}, the largest one-byte label");
        return int.Parse(s, CultureInfo.InvariantCulture);
    }

    private static string Shown(string s) => IO.MessageText.Shorten(s, 40);
}

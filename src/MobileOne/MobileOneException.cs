namespace MobileOne;

/// <summary>
/// An error caused by the user's input (a file, a configuration, a request), whose message says what
/// is wrong in words a user can act on. Tools show the message and exit with code 1, without a stack trace.
/// </summary>
public class MobileOneException : Exception
{
    /// <summary>Creates the exception with a message meant for the user.</summary>
    public MobileOneException(string message) : base(message) { }

    /// <summary>Creates the exception with a message meant for the user and the low-level cause.</summary>
    public MobileOneException(string message, Exception inner) : base(message, inner) { }
}

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    internal static partial class Interop
    {
        /// <summary>Win32 error codes this layer reacts to.</summary>
        internal static class Errors
        {
            internal const int ERROR_SUCCESS = 0;
            internal const int ERROR_INVALID_PARAMETER = 87;
            internal const int ERROR_INSUFFICIENT_BUFFER = 122;
            internal const int ERROR_NOT_SUPPORTED = 50;
            internal const int ERROR_NOT_ALL_ASSIGNED = 1300;
            internal const int ERROR_NO_TOKEN = 1008;
            internal const int WSAEAFNOSUPPORT = 10047;
        }
    }
}

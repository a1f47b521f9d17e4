using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// Tests that open real sockets and processes and look at the whole machine's table run one after
    /// another, so that one test's sockets never show up as another's surprise.
    /// </summary>
    [CollectionDefinition(Name)]
    public sealed class LinuxSocketsCollection
    {
        public const string Name = "Linux real sockets";
    }
}

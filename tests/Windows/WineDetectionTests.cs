using System;
using ConnectionsMonitor.Engine.Platform.Windows;
using Xunit;

namespace ConnectionsMonitor.WindowsTests
{
    public sealed class WineDetectionTests
    {
        [Fact]
        public void Wine_detection_agrees_with_the_runner()
        {
            // .ci/wine-tests.sh sets this, so a broken detection cannot silently turn the Wine skips into passes.
            string expected = Environment.GetEnvironmentVariable("CONNECTIONSMONITOR_EXPECT_WINE");
            Assert.SkipWhen(string.IsNullOrEmpty(expected), "CONNECTIONSMONITOR_EXPECT_WINE not set");
            Assert.Equal(expected == "1", WineDetection.IsRunningUnderWine);
        }
    }
}

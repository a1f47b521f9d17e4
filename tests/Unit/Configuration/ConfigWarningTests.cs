using System.Linq;
using ConnectionsMonitor.Engine.Configuration;
using Xunit;

namespace ConnectionsMonitor.Tests.Configuration
{
    public class ConfigWarningTests
    {
        [Fact]
        public void UnknownKeysWarnWithLineAndSuggestionAndTheRestLoads()
        {
            var result = ConfigLoader.LoadText(string.Join("\n",
                "refreshIntervall: 500",        // 1 top level, typo
                "RefreshInterval: 700",         // 2 top level, wrong case
                "refreshInterval: 3000",        // 3
                "monitoring:",                  // 4
                "  topTalkerCount: 9",          // 5 nested, typo
                "  topTalkersCount: 7",         // 6
                "dashboard:",                   // 7
                "  export:",                    // 8
                "    fromats: [csv]",           // 9 two levels down
                "columns:",                     // 10
                "  Procss: false",              // 11 a column name
                "somethingElse: true",          // 12 nothing close
                ""), "config.yml");

            var w = result.Warnings;
            Assert.Equal(new[] { 1, 2, 5, 9, 11, 12 }, w.Select(x => x.Line));
            Assert.Equal(new[] { "refreshIntervall", "RefreshInterval", "monitoring.topTalkerCount", "dashboard.export.fromats", "columns.Procss", "somethingElse" },
                w.Select(x => x.Key));
            Assert.Equal(new[] { "refreshInterval", "refreshInterval", "topTalkersCount", "formats", "Process", null }, w.Select(x => x.Suggestion));
            Assert.Equal("config.yml, line 5, key 'monitoring.topTalkerCount': unknown key, ignored; did you mean 'topTalkersCount'?", w[2].Message);
            Assert.Equal("config.yml, line 12, key 'somethingElse': unknown key, ignored.", w[5].Message);

            Assert.Equal(3000, result.Config.RefreshInterval);
            Assert.Equal(7, result.Config.Monitoring.TopTalkersCount);
            Assert.Equal(new[] { "csv", "json" }, result.Config.Dashboard.Export.Formats);
            Assert.True(result.Config.Columns.Contains("Process"));
        }

        [Fact]
        public void UnknownKeysInsideWebhookEntriesWarnButTheirValuesAreNotShown()
        {
            var result = ConfigLoader.LoadText("alerts:\n  webhooks:\n    - url: https://example.invalid/h\n      urll: https://example.invalid/SECRETPART\n", "c.yml");
            var w = Assert.Single(result.Warnings);
            Assert.Equal("alerts.webhooks[0].urll", w.Key);
            Assert.Equal("url", w.Suggestion);
            Assert.DoesNotContain("SECRETPART", w.Message);
        }
    }
}

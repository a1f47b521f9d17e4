using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>
    /// A block that the kernel ends between the module's listing and its change (the time-out ran out): the change
    /// fails as nft makes it fail, and the backend reads again and does the right thing. The answers are nft's own
    /// (captured with nft 1.0.6); a scripted runner plays them, since the race cannot be timed reliably for real.
    /// </summary>
    public class NftablesRaceTests
    {
        private const string WithElement =
            "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}}, {\"set\": {\"family\": \"inet\", \"name\": \"outbound4\", \"table\": \"connectionsmonitor\", \"type\": \"ipv4_addr\", \"handle\": 3, " +
            "\"flags\": [\"interval\", \"timeout\"], \"elem\": [{\"elem\": {\"val\": \"203.0.113.7\", \"timeout\": 2, \"expires\": 0, \"comment\": \"cm1 1796121000\"}}]}}]}";
        private const string Empty = "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}}]}";
        private const string DeleteFailed = "/dev/stdin:32:52-62: Error: element does not exist\ndelete element inet connectionsmonitor outbound4 { 203.0.113.7 }\n                                                   ^^^^^^^^^^^\n";

        private sealed class Scripted : ICommandRunner
        {
            public readonly Queue<CommandResult> Answers = new Queue<CommandResult>();
            public readonly List<string> Inputs = new List<string>();
            public CommandResult Run(string file, IReadOnlyList<string> arguments, string input)
            {
                Inputs.Add(string.Join(" ", arguments) + (input != null ? "\n" + input : ""));
                return Answers.Dequeue();
            }
        }

        [Fact]
        public void AReplacementWhoseOldBlockJustEndedIsMadeOnTheSecondTry()
        {
            var runner = new Scripted();
            runner.Answers.Enqueue(new CommandResult(0, WithElement, ""));
            runner.Answers.Enqueue(new CommandResult(1, "", DeleteFailed));
            runner.Answers.Enqueue(new CommandResult(0, Empty, ""));
            runner.Answers.Enqueue(new CommandResult(0, "", ""));
            var request = new BlockRequest(BlockTarget.Parse("203.0.113.7"), BlockDirection.Outbound, null, new DateTime(2026, 12, 1, 10, 30, 2, DateTimeKind.Utc), null);
            new NftablesFirewall(runner).Add(request);
            Assert.Equal(4, runner.Inputs.Count);
            Assert.Contains("delete element inet connectionsmonitor outbound4 { 203.0.113.7 }", runner.Inputs[1]);
            Assert.DoesNotContain("delete element", runner.Inputs[3]);
            Assert.EndsWith("add element inet connectionsmonitor outbound4 { 203.0.113.7 comment \"cm1 1796121002\" }\n", runner.Inputs[3]);
        }

        [Fact]
        public void AnUnblockWhoseBlockJustEndedSaysThereWasNone()
        {
            var runner = new Scripted();
            runner.Answers.Enqueue(new CommandResult(0, WithElement, ""));
            runner.Answers.Enqueue(new CommandResult(1, "", DeleteFailed));
            runner.Answers.Enqueue(new CommandResult(0, Empty, ""));
            Assert.False(new NftablesFirewall(runner).Remove(BlockTarget.Parse("203.0.113.7")));
            Assert.Equal(3, runner.Inputs.Count);
        }

        [Fact]
        public void AFailureThatPersistsIsReportedWithNftsWords()
        {
            var runner = new Scripted();
            for (int i = 0; i < 2; i++)
            {
                runner.Answers.Enqueue(new CommandResult(0, WithElement, ""));
                runner.Answers.Enqueue(new CommandResult(1, "", DeleteFailed));
            }
            var ex = Assert.Throws<BlockingException>(() => new NftablesFirewall(runner).Remove(BlockTarget.Parse("203.0.113.7")));
            Assert.Equal(BlockFailure.FirewallFailed, ex.Failure);
            Assert.Equal("nft could not remove the block of 203.0.113.7 (exit status 1): /dev/stdin:32:52-62: Error: element does not exist; delete element inet connectionsmonitor outbound4 { 203.0.113.7 }", ex.Message);
        }

        /// <summary>
        /// nft is found where nftables installs it when PATH does not name that folder (cron's /usr/bin:/bin; a newcomer's trial:
        /// a block from a trimmed PATH failed with "install nftables" on a machine that had it).
        /// </summary>
        [Fact]
        public void NftIsFoundOnPathElseInSbin()
        {
            Assert.Equal("nft", NftablesFirewall.FindProgram("/usr/local/bin:/usr/sbin", p => p == "/usr/sbin/nft"));
            Assert.Equal("/usr/sbin/nft", NftablesFirewall.FindProgram("/usr/bin:/bin", p => p == "/usr/sbin/nft" || p == "/sbin/nft"));
            Assert.Equal("/sbin/nft", NftablesFirewall.FindProgram("/usr/bin:/bin", p => p == "/sbin/nft"));
            Assert.Equal("/usr/sbin/nft", NftablesFirewall.FindProgram(null, p => p == "/usr/sbin/nft"));
            Assert.Equal("nft", NftablesFirewall.FindProgram("/usr/bin::/bin", p => false)); // nowhere: the start fails and says nft is missing
        }
    }
}

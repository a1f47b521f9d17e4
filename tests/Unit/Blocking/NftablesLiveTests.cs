using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using ConnectionsMonitor.Engine.Blocking;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Blocking
{
    /// <summary>
    /// Real blocks with real nft in two network namespaces the test makes (never in the machine's own): a TCP
    /// connection from namespace A to a listener in namespace B works, is refused at once after a block, and works
    /// again after the block is removed or its time-out runs out. Root and nftables are needed; without them the
    /// tests fail saying so.
    /// </summary>
    public class NftablesLiveTests
    {
        private const int Port = 8081;

        private static (NamespacePair Pair, ConnectionBlocker Blocker, NftablesFirewall Firewall) Make()
        {
            var pair = new NamespacePair();
            pair.Listen(pair.B, Port);
            var firewall = new NftablesFirewall(NamespacePair.RunnerIn(pair.A));
            return (pair, new ConnectionBlocker(firewall), firewall);
        }

        private static BlockRequest Request(string target, BlockDirection direction = BlockDirection.Both, string reason = null, int? seconds = null) =>
            new BlockRequest(BlockTarget.Parse(target), direction, reason, DateTime.UtcNow, seconds.HasValue ? TimeSpan.FromSeconds(seconds.Value) : (TimeSpan?)null);

        [LinuxFact]
        public void AnIPv4BlockRefusesAtOnceAndUnblockLetsThrough()
        {
            var (pair, blocker, firewall) = Make();
            using (pair)
            {
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB, Port));
                blocker.Add(Request(pair.AddressB.ToString(), reason: "live test"));
                // Refused, not timed out (a dropped SYN would be "timeout" after 3 s): the block answers with a reset.
                Assert.Equal("refused", NamespacePair.Connect(pair.A, pair.AddressB, Port));
                var listed = Assert.Single(blocker.List());
                Assert.Equal(pair.AddressB.ToString(), listed.Target.Text);
                Assert.Equal(BlockDirection.Both, listed.Direction);
                Assert.Equal("live test", listed.Reason);
                Assert.Null(listed.ExpiresUtc);
                Assert.True(blocker.Remove(BlockTarget.Parse(pair.AddressB.ToString())));
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB, Port));
                Assert.Empty(blocker.List());
                Assert.False(blocker.Remove(BlockTarget.Parse(pair.AddressB.ToString())));
            }
        }

        [LinuxFact]
        public void AnIPv6BlockRefusesAndUnblockLetsThrough()
        {
            var (pair, blocker, _) = Make();
            using (pair)
            {
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB6, Port));
                blocker.Add(Request(pair.AddressB6.ToString()));
                Assert.Equal("refused", NamespacePair.Connect(pair.A, pair.AddressB6, Port));
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB, Port)); // the IPv4 address of the same peer is not blocked
                blocker.Remove(BlockTarget.Parse(pair.AddressB6.ToString()));
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB6, Port));
            }
        }

        [LinuxFact]
        public void ACidrBlockRefusesEveryAddressInIt()
        {
            var (pair, blocker, _) = Make();
            using (pair)
            {
                string v4 = BlockTarget.Parse(pair.AddressB + "/31").Text; // B and the next address, not A
                string v6 = BlockTarget.Parse(pair.AddressB6 + "/127").Text;
                blocker.Add(Request(v4, BlockDirection.Outbound));
                blocker.Add(Request(v6, BlockDirection.Outbound));
                Assert.Equal("refused", NamespacePair.Connect(pair.A, pair.AddressB, Port));
                Assert.Equal("refused", NamespacePair.Connect(pair.A, pair.AddressB6, Port));
                Assert.Equal(new[] { v4, v6 }, blocker.List().Select(b => b.Target.Text).ToArray());
                var ex = Assert.Throws<BlockingException>(() => blocker.Add(Request(pair.AddressB.ToString())));
                Assert.Equal(BlockFailure.Overlaps, ex.Failure);
                Assert.Equal(v4, ex.Existing.Text);
            }
        }

        [LinuxFact]
        public void ABlockEndsByItselfWhenItsTimeOutRunsOut()
        {
            var (pair, blocker, _) = Make();
            using (pair)
            {
                var request = Request(pair.AddressB.ToString(), reason: "five seconds", seconds: 5);
                blocker.Add(request); // (five seconds: room for the two process starts below on a loaded machine)
                Assert.Equal("refused", NamespacePair.Connect(pair.A, pair.AddressB, Port));
                var listed = Assert.Single(blocker.List());
                Assert.Equal(request.CreatedUtc, listed.CreatedUtc);
                Assert.Equal(request.CreatedUtc.AddSeconds(5), listed.ExpiresUtc);
                // The kernel removes the element when the time-out has passed; poll a little beyond it.
                string result = null;
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(250);
                    if (DateTime.UtcNow < request.CreatedUtc.AddSeconds(5)) continue;
                    result = NamespacePair.Connect(pair.A, pair.AddressB, Port);
                    if (result == "ok") break;
                }
                Assert.Equal("ok", result);
                Assert.True(DateTime.UtcNow >= request.CreatedUtc.AddSeconds(5), "the block ended before its time-out");
                Assert.Empty(blocker.List());
            }
        }

        [LinuxFact]
        public void AnInboundBlockRefusesWhatThePeerOpensAndAnOutboundBlockWhatIsOpenedToIt()
        {
            var (pair, blocker, _) = Make();
            using (pair)
            {
                pair.Listen(pair.A, Port);
                Assert.Equal("ok", NamespacePair.Connect(pair.B, pair.AddressA, Port));
                blocker.Add(Request(pair.AddressB.ToString(), BlockDirection.Inbound));
                Assert.Equal("refused", NamespacePair.Connect(pair.B, pair.AddressA, Port));
                // Stateful, as Windows Firewall: connections A opens to B, and B's answers, still pass.
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB, Port));
                blocker.Add(Request(pair.AddressB.ToString(), BlockDirection.Outbound)); // replaces the inbound block
                var listed = Assert.Single(blocker.List());
                Assert.Equal(BlockDirection.Outbound, listed.Direction);
                Assert.Equal("ok", NamespacePair.Connect(pair.B, pair.AddressA, Port));
                Assert.Equal("refused", NamespacePair.Connect(pair.A, pair.AddressB, Port));
            }
        }

        // B: echoes what it receives on every connection, keeping them open.
        private const string EchoServer =
            "import socket,sys,threading\n" +
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',int(sys.argv[1]))); s.listen(4)\n" +
            "def echo(c):\n" +
            "    while True:\n" +
            "        d=c.recv(64)\n" +
            "        if not d: break\n" +
            "        c.sendall(d)\n" +
            "def loop():\n" +
            "    while True:\n" +
            "        c,_=s.accept(); threading.Thread(target=echo,args=(c,),daemon=True).start()\n" +
            "threading.Thread(target=loop,daemon=True).start()\n" +
            "print('ready',flush=True)\n" +
            "sys.stdin.read()\n";

        // A: one connection to B, kept open; each input line sends a byte and says whether it came back.
        private const string HeldClient =
            "import socket,sys\n" +
            "c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3); print('connected',flush=True)\n" +
            "for line in sys.stdin:\n" +
            "    try:\n" +
            "        c.sendall(b'x'); print('ok' if c.recv(1)==b'x' else 'closed',flush=True)\n" +
            "    except socket.timeout: print('timeout',flush=True)\n" +
            "    except OSError as e: print('error '+str(e.errno),flush=True)\n";

        private static Process StartIn(string ns, string script, params string[] args)
        {
            var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "netns", "exec", ns, "python3", "-c", script }) psi.ArgumentList.Add(a);
            foreach (var a in args) psi.ArgumentList.Add(a);
            return Process.Start(psi);
        }

        private static string Ask(Process client)
        {
            client.StandardInput.WriteLine("x");
            client.StandardInput.Flush();
            return client.StandardOutput.ReadLine();
        }

        [LinuxFact]
        public void AConnectionAlreadyOpenIsCutByABlockOfItsDirectionAndNotByTheOther()
        {
            using var pair = new NamespacePair();
            var blocker = new ConnectionBlocker(new NftablesFirewall(NamespacePair.RunnerIn(pair.A)));
            var server = StartIn(pair.B, EchoServer, "8082");
            Process client = null;
            try
            {
                Assert.Equal("ready", server.StandardOutput.ReadLine());
                client = StartIn(pair.A, HeldClient, pair.AddressB.ToString(), "8082");
                Assert.Equal("connected", client.StandardOutput.ReadLine());
                Assert.Equal("ok", Ask(client));
                // A opened the connection: an Inbound block (what B opens) leaves it alone, answers included.
                blocker.Add(Request(pair.AddressB.ToString(), BlockDirection.Inbound));
                Assert.Equal("ok", Ask(client));
                // An Outbound block (what is opened to B) cuts it: A's next packet is answered with a reset.
                blocker.Add(Request(pair.AddressB.ToString(), BlockDirection.Outbound));
                Assert.Equal("error 104", Ask(client)); // ECONNRESET
            }
            finally
            {
                foreach (var p in new[] { client, server })
                {
                    if (p == null) continue;
                    try { p.StandardInput.Close(); } catch (System.IO.IOException) { }
                    if (!p.WaitForExit(2000)) p.Kill(true);
                    p.Dispose();
                }
            }
        }

        [LinuxFact]
        public void RoutedTrafficIsBlockedInTheForwardChain()
        {
            // A routes between B and a third namespace C: C's connection to B passes through A's forward hook only.
            var (pair, blocker, _) = Make();
            using (pair)
            {
                string c = pair.A.Replace("cmba", "cmbc");
                string net = pair.AddressA.ToString();
                string cNet = "10.199." + net.Split('.')[2] + ".";
                try
                {
                    IpCommand.Run("netns add " + c);
                    IpCommand.Run("-n " + pair.A + " link add vethc type veth peer name veth0 netns " + c);
                    IpCommand.Run("-n " + pair.A + " addr add " + cNet + "1/30 dev vethc");
                    IpCommand.Run("-n " + c + " addr add " + cNet + "2/30 dev veth0");
                    IpCommand.Run("-n " + pair.A + " link set vethc up");
                    IpCommand.Run("-n " + c + " link set veth0 up");
                    IpCommand.Run("-n " + c + " route add default via " + cNet + "1");
                    IpCommand.Run("-n " + pair.B + " route add default via " + pair.AddressA);
                    var forwarding = NamespacePair.Exec(pair.A, "sysctl", "-qw", "net.ipv4.ip_forward=1");
                    Assert.True(forwarding.ExitCode == 0, "sysctl net.ipv4.ip_forward=1 failed in " + pair.A + ": " + forwarding.Error);

                    Assert.Equal("ok", NamespacePair.Connect(c, pair.AddressB, Port));
                    blocker.Add(Request(pair.AddressB.ToString(), BlockDirection.Outbound));
                    Assert.Equal("refused", NamespacePair.Connect(c, pair.AddressB, Port)); // A answers for B with a reset
                    blocker.Add(Request(pair.AddressB.ToString(), BlockDirection.Inbound));
                    Assert.Equal("ok", NamespacePair.Connect(c, pair.AddressB, Port));      // C opened it: inbound does not apply
                    blocker.Add(Request(cNet + "2", BlockDirection.Inbound));
                    Assert.Equal("refused", NamespacePair.Connect(c, pair.AddressB, Port)); // what C opens, through A, is stopped
                    blocker.RemoveAll();
                    Assert.Equal("ok", NamespacePair.Connect(c, pair.AddressB, Port));
                }
                finally
                {
                    IpCommand.Try("netns del " + c);
                }
            }
        }

        [LinuxFact]
        public void RemoveAllLeavesNoTableBehind()
        {
            var (pair, blocker, firewall) = Make();
            using (pair)
            {
                Assert.Equal(0, blocker.RemoveAll()); // nothing there yet: no error
                Assert.False(NamespacePair.HasTable(pair.A));
                blocker.Add(Request(pair.AddressB.ToString(), seconds: 3600));
                blocker.Add(Request(pair.AddressB6 + "/64", BlockDirection.Inbound));
                Assert.True(NamespacePair.HasTable(pair.A));
                Assert.Equal(2, blocker.RemoveAll());
                Assert.False(NamespacePair.HasTable(pair.A));
                Assert.False(firewall.TableExists());
                Assert.Equal("", NamespacePair.Ruleset(pair.A));
                Assert.Equal("ok", NamespacePair.Connect(pair.A, pair.AddressB, Port));
            }
        }

        [LinuxFact]
        public void AHostileReasonReadsBackExactlyAndCannotBreakOutOfTheComment()
        {
            var (pair, blocker, _) = Make();
            using (pair)
            {
                string reason = "x\" }\nadd element inet connectionsmonitor inbound4 { 10.9.9.9 } # \u001b[31m é|%\\";
                blocker.Add(Request(pair.AddressB.ToString(), reason: reason));
                var listed = Assert.Single(blocker.List());
                Assert.Equal(reason, listed.Reason);
                string ruleset = NamespacePair.Ruleset(pair.A);
                Assert.True(NamespacePair.HasTable(pair.A)); // the "delete table" in the reason did not run, nor did its "add element" (one block listed)
                Assert.DoesNotContain('\u001b', ruleset.ToCharArray());
                Assert.Contains("comment \"cm1 ", ruleset);
            }
        }

        [LinuxFact]
        public void WithoutPrivilegeTheFailureSaysSo()
        {
            using var pair = new NamespacePair();
            var runner = new ProcessCommandRunner(new[] { "ip", "netns", "exec", pair.A, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups" });
            var blocker = new ConnectionBlocker(new NftablesFirewall(runner));
            var ex = Assert.Throws<BlockingException>(() => blocker.List());
            Assert.Equal(BlockFailure.NotPermitted, ex.Failure);
            Assert.StartsWith("nft was not permitted to list the table inet connectionsmonitor (it needs root or the CAP_NET_ADMIN capability): ", ex.Message);
            Assert.False(NamespacePair.HasTable(pair.A));
        }

        [LinuxFact]
        public void AMissingNftBehindAWrapperSaysSo()
        {
            using var pair = new NamespacePair();
            var firewall = new NftablesFirewall(NamespacePair.RunnerIn(pair.A)) { Program = "nft-not-installed" };
            var ex = Assert.Throws<BlockingException>(() => firewall.List(DateTime.UtcNow));
            Assert.Equal(BlockFailure.ToolMissing, ex.Failure);
            Assert.Equal("The nft program (nftables) could not be run to list the table inet connectionsmonitor: exec of \"nft-not-installed\" failed: No such file or directory", ex.Message);
        }

        [LinuxFact]
        public void AMissingNftSaysSo()
        {
            var firewall = new NftablesFirewall(new ProcessCommandRunner()) { Program = "/nonexistent/nft" };
            var ex = Assert.Throws<BlockingException>(() => firewall.List(DateTime.UtcNow));
            Assert.Equal(BlockFailure.ToolMissing, ex.Failure);
            Assert.StartsWith("The nft program (nftables) could not be started to list the table inet connectionsmonitor: ", ex.Message);
        }
    }
}

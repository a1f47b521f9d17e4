using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Linux;
using ConnectionsMonitor.Tests.TestSupport;
using Xunit;

namespace ConnectionsMonitor.Tests.Linux
{
    /// <summary>
    /// A real TCP connection between link-local addresses over a veth pair whose far end lives in a
    /// network namespace the test makes: the address text keeps its zone as ss prints it
    /// (fe80::c%IFNAME), and address filters take the zone by name or index.
    /// </summary>
    [Collection(LinuxSocketsCollection.Name)]
    public class LinkLocalZoneTests
    {
        // Runs in this (host) namespace, then moves into the test's namespace by setns(2) before it
        // opens its listener, so no second iproute2 runner is needed.
        private const string ServerInNamespace =
            "import ctypes,os,socket,sys\n" +
            "fd=os.open('/run/netns/'+sys.argv[1],os.O_RDONLY)\n" +
            "libc=ctypes.CDLL(None,use_errno=True)\n" +
            "if libc.setns(fd,0x40000000)!=0: raise OSError(ctypes.get_errno(),'setns')\n" +   // CLONE_NEWNET
            "s=socket.socket(socket.AF_INET6); s.bind(('::',0)); s.listen()\n" +
            "print(s.getsockname()[1],flush=True)\n" +
            "c,a=s.accept()\n" +
            "print('accepted',flush=True)\n" +
            "sys.stdin.read()\n";

        [LinuxFact]
        public void LinkLocalAddressesKeepTheirZoneAsSsPrintsIt()
        {
            string tag = Guid.NewGuid().ToString("N").Substring(0, 6);
            string ns = "cmz" + tag, host = "cmz" + tag + "h", peer = "cmz" + tag + "n";
            IpCommand.Run($"netns add {ns}");
            Process server = null;
            try
            {
                IpCommand.Run($"link add {host} type veth peer name {peer} netns {ns}");
                IpCommand.Run($"addr add fe80::c/64 dev {host} nodad");
                IpCommand.Run($"-n {ns} addr add fe80::d/64 dev {peer} nodad");
                IpCommand.Run($"link set {host} up");
                IpCommand.Run($"-n {ns} link set {peer} up");
                uint index = uint.Parse(File.ReadAllText($"/sys/class/net/{host}/ifindex").Trim());

                var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(ServerInNamespace);
                psi.ArgumentList.Add(ns);
                server = Process.Start(psi);
                int port = int.Parse(server.StandardOutput.ReadLine());

                using var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                var far = new IPAddress(IPAddress.Parse("fe80::d").GetAddressBytes(), index);
                LoopbackSockets.WaitUntil(() =>
                {
                    try { client.Connect(new IPEndPoint(far, port)); return true; }
                    catch (SocketException) { return false; } // the link may still be coming up
                });
                Assert.Equal("accepted", server.StandardOutput.ReadLine());
                int localPort = ((IPEndPoint)client.LocalEndPoint).Port;

                using var table = new LinuxConnectionTable(LinuxTableMode.SockDiag);
                var row = table.Read(new ConnectionQuery()).Entries
                    .Single(e => e.Protocol == TransportProtocol.Tcp && e.LocalPort == localPort && e.RemotePort == port);
                Assert.Equal(index, (uint)row.LocalAddress.ScopeId);
                Assert.Equal(index, (uint)row.RemoteAddress.ScopeId);

                // ss -tn prints "[fe80::c]%IF:PORT  [fe80::d]:PORT" (the zone after the local address only).
                var (ssLocal, ssLocalZone, ssPeer) = SsLine(localPort, port);
                Assert.Equal(host, ssLocalZone);
                Assert.Equal("fe80::c%" + host, ssLocal + "%" + ssLocalZone);
                Assert.Equal(ssLocal + "%" + ssLocalZone, AddressPattern.FormatAddress(row.LocalAddress));
                // The peer keeps the same zone: a link-local peer is only reachable through that link
                // (ss leaves it off because it prints the socket's bound device once, on the local side).
                Assert.Equal(ssPeer + "%" + host, AddressPattern.FormatAddress(row.RemoteAddress));

                // Filters: by name, by index, without a zone; another zone does not match.
                using var engine = new MonitorEngine(new LinuxPlatform(LinuxTableMode.SockDiag));
                bool Finds(string pattern) => engine.TakeSnapshot(new ConnectionQuery { RemoteAddresses = new[] { AddressPattern.Parse(pattern) } })
                    .Connections.Any(c => c.LocalPort == localPort && c.RemotePort == port);
                Assert.True(Finds("fe80::d%" + host));
                Assert.True(Finds("fe80::d%" + index));
                Assert.True(Finds("fe80::d"));
                Assert.True(Finds("fe80::%" + host + "/64"));
                Assert.True(Finds("fe80::*%" + host));
                Assert.False(Finds("fe80::d%lo"));
                Assert.False(Finds("fe80::d%" + (index + 1000)));
            }
            finally
            {
                if (server != null)
                {
                    if (!server.HasExited) server.Kill();
                    server.WaitForExit();
                    server.Dispose();
                }
                IpCommand.Try($"link del {host}");
                IpCommand.Try($"netns del {ns}");
            }
        }

        /// <summary>ss's local address, the zone after it, and the peer address, for one connection.</summary>
        private static (string Local, string LocalZone, string Peer) SsLine(int localPort, int remotePort)
        {
            var psi = new ProcessStartInfo("ss", $"-tnH state established sport = :{localPort} dport = :{remotePort}") { UseShellExecute = false, RedirectStandardOutput = true };
            using var p = Process.Start(psi);
            string text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            // With a state filter ss leaves out the State column: Recv-Q Send-Q Local Peer.
            var fields = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var local = Regex.Match(fields[2], @"^\[(?<a>[^\]]+)\](%(?<z>[^:]+))?:(?<p>\d+)$");
            var peer = Regex.Match(fields[3], @"^\[(?<a>[^\]]+)\](%(?<z>[^:]+))?:(?<p>\d+)$");
            Assert.True(local.Success && peer.Success, text);
            return (local.Groups["a"].Value, local.Groups["z"].Value, peer.Groups["a"].Value);
        }
    }
}

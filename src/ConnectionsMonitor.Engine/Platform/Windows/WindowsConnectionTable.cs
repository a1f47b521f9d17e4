using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Net.Sockets;
using ConnectionsMonitor.Engine.Filtering;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    /// <summary>
    /// The TCP and UDP tables of IP Helper, IPv4 and IPv6. Prefers the OWNER_MODULE classes (they carry
    /// each socket's creation time) and falls back to OWNER_PID when those fail. Long-lived: the native
    /// buffer is kept between reads, so a steady-state snapshot allocates no table memory.
    /// </summary>
    public sealed class WindowsConnectionTable : IConnectionTable
    {
        // The table can grow between the size report and the fill; a few retries cover a busy machine.
        private const int MaxAttempts = 8;
        private const int InitialBufferSize = 64 * 1024;

        private readonly object _gate = new object();
        private readonly TableSource _source;
        // Null: rows carry no byte counts (BytesSent/BytesReceived stay null) and no ETW session is started.
        private readonly WindowsTrafficCounters _traffic;
        private byte[] _buffer;

        /// <summary>The connection table alone, without byte counters.</summary>
        public WindowsConnectionTable() : this(InitialBufferSize, FillFromIpHelper)
        {
        }

        /// <summary>
        /// The table with byte counters from <paramref name="traffic"/> (which the caller owns) and, on reads
        /// that resolve owners, the warning <paramref name="ownerWarning"/> returns (null: none).
        /// </summary>
        internal WindowsConnectionTable(WindowsTrafficCounters traffic, Func<string> ownerWarning)
            : this(InitialBufferSize, FillFromIpHelper, traffic, ownerWarning)
        {
        }

        private readonly Func<string> _ownerWarning;

        internal WindowsConnectionTable(int initialBufferSize) : this(initialBufferSize, FillFromIpHelper)
        {
        }

        /// <summary>
        /// Fills <paramref name="buffer"/> with one table, IP Helper style: returns a Win32 error code and,
        /// on ERROR_INSUFFICIENT_BUFFER, the size needed in <paramref name="size"/>.
        /// </summary>
        internal delegate uint TableSource(IpHelperTableLayout layout, byte[] buffer, ref uint size);

        /// <summary>
        /// Tests start with a small buffer to drive the ERROR_INSUFFICIENT_BUFFER path, and substitute the
        /// source to replay error sequences (a growing table, a failing MODULE class) on any OS.
        /// </summary>
        internal WindowsConnectionTable(int initialBufferSize, TableSource source, WindowsTrafficCounters traffic = null,
            Func<string> ownerWarning = null)
        {
            _ownerWarning = ownerWarning;
            _buffer = new byte[Math.Max(initialBufferSize, 4)];
            _source = source ?? throw new ArgumentNullException(nameof(source));
            _traffic = traffic;
        }

        internal int BufferSize => _buffer.Length;

        public ConnectionTableResult Read(ConnectionQuery request)
        {
            request = request ?? new ConnectionQuery();
            var entries = new List<SocketEntry>();
            var warnings = new List<string>();
            var failures = new List<string>();
            int attempted = 0;
            var covered = TableCoverage.None;

            // Byte counters: a read that asks for them starts (or keeps alive) the ETW session; one that
            // does not still gets them while the session runs for someone else. The mark is taken before
            // the table is read, so counters of connections already gone at the read can be told from
            // brand-new ones.
            string trafficProblem = null;
            bool counting = false;
            if (_traffic != null)
            {
                if (request.IncludeByteCounts)
                {
                    trafficProblem = _traffic.Start();
                    counting = trafficProblem == null;
                }
                else
                {
                    counting = _traffic.IsCounting;
                }
            }
            long mark = counting ? _traffic.MarkTableRead() : 0;

            lock (_gate)
            {
                foreach (TransportProtocol protocol in new[] { TransportProtocol.Tcp, TransportProtocol.Udp })
                {
                    if (!request.Reads(protocol)) continue;
                    foreach (AddressFamily family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
                    {
                        if (!request.Reads(family)) continue;
                        attempted++;
                        if (ReadOneTable(protocol, family, entries, warnings, failures))
                            covered |= CoverageOf(protocol, family);
                    }
                }
            }

            if (attempted > 0 && failures.Count == attempted)
                throw new InvalidOperationException(
                    "No connection table could be read from IP Helper: " + string.Join("; ", failures));
            warnings.AddRange(failures);

            if (request.ResolveOwners && _ownerWarning?.Invoke() is string ownerProblem) warnings.Add(ownerProblem);
            if (trafficProblem != null)
                warnings.Add(trafficProblem); // rows keep BytesSent/BytesReceived null
            else if (counting)
            {
                _traffic.Merge(entries, mark, covered); // only tables read in full can show a connection is gone
                // A read that did not ask keeps no session alive; if the idle stop came during the read,
                // the merged zeros mean nothing: unknown, not 0.
                if (!request.IncludeByteCounts && !_traffic.IsCounting)
                    foreach (var e in entries) e.BytesSent = e.BytesReceived = null;
            }
            return new ConnectionTableResult(entries, warnings);
        }

        private static TableCoverage CoverageOf(TransportProtocol protocol, AddressFamily family) =>
            protocol == TransportProtocol.Tcp
                ? (family == AddressFamily.InterNetworkV6 ? TableCoverage.TcpV6 : TableCoverage.TcpV4)
                : (family == AddressFamily.InterNetworkV6 ? TableCoverage.UdpV6 : TableCoverage.UdpV4);

        /// <summary>
        /// Whether an IP Helper error says the address family itself is not there (IPv6 disabled or
        /// unbound: ERROR_NOT_SUPPORTED; WSAEAFNOSUPPORT from the stack), i.e. the table is empty, not unreadable.
        /// </summary>
        internal static bool IsFamilyUnsupported(uint error) =>
            error == Interop.Errors.ERROR_NOT_SUPPORTED || error == Interop.Errors.WSAEAFNOSUPPORT;

        /// <summary>Reads one table into <paramref name="entries"/>; true when the table was read in full (or its family is absent).</summary>
        private bool ReadOneTable(TransportProtocol protocol, AddressFamily family, List<SocketEntry> entries,
            List<string> warnings, List<string> failures)
        {
            var module = IpHelperTableLayout.For(protocol, family, ownerModule: true);
            uint moduleError = Fill(module, out int length);
            if (moduleError == Interop.Errors.ERROR_SUCCESS)
            {
                IpHelperTableParser.Parse(new ReadOnlySpan<byte>(_buffer, 0, length), module, entries);
                return true;
            }

            var pid = IpHelperTableLayout.For(protocol, family, ownerModule: false);
            uint pidError = Fill(pid, out length);
            if (pidError == Interop.Errors.ERROR_SUCCESS)
            {
                warnings.Add(string.Format(
                    "{0} could not be read ({1}); used {2} instead, so {3} {4} sockets have no creation time.",
                    module.StructName, Describe(moduleError), pid.StructName, protocol, FamilyName(family)));
                IpHelperTableParser.Parse(new ReadOnlySpan<byte>(_buffer, 0, length), pid, entries);
                return true;
            }

            // With the family switched off (IPv6 disabled in the registry, say) there are no such
            // sockets: the table is complete and empty, which is no failure and needs no warning.
            if (IsFamilyUnsupported(moduleError) && IsFamilyUnsupported(pidError)) return true;

            failures.Add(string.Format("{0} {1} table not read: {2} failed with {3}, {4} with {5}",
                protocol, FamilyName(family), module.StructName, Describe(moduleError), pid.StructName, Describe(pidError)));
            return false;
        }

        /// <summary>
        /// Fills the retained buffer with one table. The first call already passes the buffer we hold, so
        /// in the common case the "size query" and the fill are one system call; ERROR_INSUFFICIENT_BUFFER
        /// reports the size needed, and recurs if the table grew meanwhile.
        /// </summary>
        private uint Fill(IpHelperTableLayout layout, out int length)
        {
            length = 0;
            uint error = Interop.Errors.ERROR_INSUFFICIENT_BUFFER;
            for (int attempt = 0; attempt < MaxAttempts && error == Interop.Errors.ERROR_INSUFFICIENT_BUFFER; attempt++)
            {
                uint size = (uint)_buffer.Length;
                error = _source(layout, _buffer, ref size);
                if (error == Interop.Errors.ERROR_INSUFFICIENT_BUFFER)
                {
                    // Headroom so a table that grows by a few rows does not cost another round trip next time.
                    _buffer = new byte[checked((int)size + (int)size / 4 + layout.RowSize * 16)];
                }
            }

            // On success the table fits in the buffer and its own dwNumEntries says how much is used;
            // the parser checks that against the buffer's length.
            if (error == Interop.Errors.ERROR_SUCCESS) length = _buffer.Length;
            return error;
        }

        private static unsafe uint FillFromIpHelper(IpHelperTableLayout layout, byte[] buffer, ref uint size)
        {
            int ulAf = layout.Family == AddressFamily.InterNetworkV6 ? Interop.IpHlpApi.AF_INET6 : Interop.IpHlpApi.AF_INET;
            fixed (byte* p = buffer)
            {
                return layout.Protocol == TransportProtocol.Tcp
                    ? Interop.IpHlpApi.GetExtendedTcpTable(p, ref size, false, ulAf,
                        layout.OwnerModule ? Interop.IpHlpApi.TCP_TABLE_OWNER_MODULE_ALL : Interop.IpHlpApi.TCP_TABLE_OWNER_PID_ALL, 0)
                    : Interop.IpHlpApi.GetExtendedUdpTable(p, ref size, false, ulAf,
                        layout.OwnerModule ? Interop.IpHlpApi.UDP_TABLE_OWNER_MODULE : Interop.IpHlpApi.UDP_TABLE_OWNER_PID, 0);
            }
        }

        private static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

        private static string Describe(uint error) =>
            string.Format("error {0}: {1}", error, new Win32Exception((int)error).Message);
    }
}

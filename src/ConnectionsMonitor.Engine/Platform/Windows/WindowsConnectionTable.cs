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

        /// <summary>The table with byte counters from <paramref name="traffic"/> (which the caller owns).</summary>
        internal WindowsConnectionTable(WindowsTrafficCounters traffic) : this(InitialBufferSize, FillFromIpHelper, traffic)
        {
        }

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
        internal WindowsConnectionTable(int initialBufferSize, TableSource source, WindowsTrafficCounters traffic = null)
        {
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

            // Byte counters: the first read starts the ETW session. The mark is taken before the table is
            // read, so counters of connections already gone at the read can be told from brand-new ones.
            string trafficProblem = _traffic?.Start();
            long mark = _traffic != null && trafficProblem == null ? _traffic.MarkTableRead() : 0;

            lock (_gate)
            {
                foreach (TransportProtocol protocol in new[] { TransportProtocol.Tcp, TransportProtocol.Udp })
                {
                    if (!request.Reads(protocol)) continue;
                    foreach (AddressFamily family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
                    {
                        if (!request.Reads(family)) continue;
                        attempted++;
                        ReadOneTable(protocol, family, entries, warnings, failures);
                    }
                }
            }

            if (attempted > 0 && failures.Count == attempted)
                throw new InvalidOperationException(
                    "No connection table could be read from IP Helper: " + string.Join("; ", failures));
            warnings.AddRange(failures);

            if (_traffic != null)
            {
                if (trafficProblem != null)
                {
                    warnings.Add(trafficProblem); // rows keep BytesSent/BytesReceived null
                }
                else
                {
                    // Only a read of every table can show that a connection is gone.
                    bool complete = attempted == 4 && failures.Count == 0;
                    _traffic.Merge(entries, mark, complete);
                }
            }
            return new ConnectionTableResult(entries, warnings);
        }

        private void ReadOneTable(TransportProtocol protocol, AddressFamily family, List<SocketEntry> entries,
            List<string> warnings, List<string> failures)
        {
            var module = IpHelperTableLayout.For(protocol, family, ownerModule: true);
            uint moduleError = Fill(module, out int length);
            if (moduleError == Interop.Errors.ERROR_SUCCESS)
            {
                IpHelperTableParser.Parse(new ReadOnlySpan<byte>(_buffer, 0, length), module, entries);
                return;
            }

            var pid = IpHelperTableLayout.For(protocol, family, ownerModule: false);
            uint pidError = Fill(pid, out length);
            if (pidError == Interop.Errors.ERROR_SUCCESS)
            {
                warnings.Add(string.Format(
                    "{0} could not be read ({1}); used {2} instead, so {3} {4} sockets have no creation time.",
                    module.StructName, Describe(moduleError), pid.StructName, protocol, FamilyName(family)));
                IpHelperTableParser.Parse(new ReadOnlySpan<byte>(_buffer, 0, length), pid, entries);
                return;
            }

            failures.Add(string.Format("{0} {1} table not read: {2} failed with {3}, {4} with {5}",
                protocol, FamilyName(family), module.StructName, Describe(moduleError), pid.StructName, Describe(pidError)));
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

using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using DnsClient;
using DnsClient.Protocol;

namespace ConnectionsMonitor.Engine.Enrichment.Dns
{
    /// <summary>What one reverse lookup found.</summary>
    internal enum PtrOutcomeKind
    {
        /// <summary>A name (already sanitised).</summary>
        Name,
        /// <summary>The address has no name: NXDOMAIN, or an answer without a usable PTR record.</summary>
        NoName,
        /// <summary>No answer worth keeping: timeout, SERVFAIL, REFUSED, a network or parse error.</summary>
        Failure,
    }

    internal struct PtrOutcome
    {
        public PtrOutcomeKind Kind;
        public string Name;
        /// <summary>The lifetime the answer itself gives (PTR TTL, or the SOA's negative TTL); null when it gives none.</summary>
        public TimeSpan? Ttl;

        public static PtrOutcome Found(string name, TimeSpan? ttl) => new PtrOutcome { Kind = PtrOutcomeKind.Name, Name = name, Ttl = ttl };
        public static PtrOutcome Absent(TimeSpan? ttl) => new PtrOutcome { Kind = PtrOutcomeKind.NoName, Ttl = ttl };
        public static PtrOutcome Failed() => new PtrOutcome { Kind = PtrOutcomeKind.Failure };
    }

    /// <summary>One way of asking for the PTR name of an address. Implementations never throw for DNS trouble.</summary>
    internal interface IPtrSource
    {
        Task<PtrOutcome> LookupAsync(IPAddress address, CancellationToken cancel);
    }

    /// <summary>PTR queries to chosen servers through DnsClient, without DnsClient's cache (the resolver caches).</summary>
    internal sealed class DnsClientPtrSource : IPtrSource
    {
        private readonly LookupClient _client;

        public DnsClientPtrSource(IReadOnlyList<IPEndPoint> servers, TimeSpan timeout)
        {
            var options = new LookupClientOptions(servers.Select(s => new NameServer(s)).ToArray())
            {
                UseCache = false,
                Timeout = timeout,
                // One attempt per server: a snapshot deadline is short, and the failure cache (FailureRetry) decides
                // when the address is tried again; with several servers DnsClient moves on to the next one.
                Retries = 0,
                ThrowDnsErrors = false,
                // An error answer (SERVFAIL, REFUSED, and also NXDOMAIN: DnsClient does not tell them apart here)
                // sends the query on to the next configured server; the last server's answer is the one classified.
                ContinueOnDnsError = true,
                ContinueOnEmptyResponse = false,
                UseRandomNameServer = false,
                UseTcpFallback = true,
                EnableAuditTrail = false,
            };
            _client = new LookupClient(options);
        }

        public async Task<PtrOutcome> LookupAsync(IPAddress address, CancellationToken cancel)
        {
            IDnsQueryResponse response;
            try
            {
                response = await _client.QueryReverseAsync(address, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                // DnsResponseException (timeout, every server failed), SocketException, DnsResponseParseException:
                // all mean "no answer now", which the failure cache turns into "ask again later".
                return PtrOutcome.Failed();
            }
            return Interpret(response);
        }

        /// <summary>Classifies a response: a PTR name, no name (with the SOA's negative TTL when present), or a failure.</summary>
        internal static PtrOutcome Interpret(IDnsQueryResponse response)
        {
            var code = response.Header.ResponseCode;
            if (code == DnsHeaderResponseCode.NotExistentDomain) return PtrOutcome.Absent(NegativeTtl(response));
            if (code != DnsHeaderResponseCode.NoError) return PtrOutcome.Failed();

            // An answer may reach the PTR through a CNAME (RFC 2317 classless delegation); the chain's shortest TTL rules.
            var ptr = response.Answers.PtrRecords().FirstOrDefault();
            if (ptr == null) return PtrOutcome.Absent(NegativeTtl(response));
            string name = HostNameSanitizer.FromPresentation(ptr.PtrDomainName.Value);
            if (name == null) return PtrOutcome.Absent(NegativeTtl(response));
            int ttl = response.Answers.Where(r => r is PtrRecord || r is CNameRecord).Min(r => r.InitialTimeToLive);
            return PtrOutcome.Found(name, TimeSpan.FromSeconds(Math.Max(0, ttl)));
        }

        // RFC 2308 §5: a negative answer lives for the smaller of the SOA record's TTL and its MINIMUM field.
        private static TimeSpan? NegativeTtl(IDnsQueryResponse response)
        {
            var soa = response.Authorities.SoaRecords().FirstOrDefault();
            if (soa == null) return null;
            long seconds = Math.Min((long)soa.Minimum, Math.Max(0, soa.InitialTimeToLive));
            return TimeSpan.FromSeconds(seconds);
        }
    }

    /// <summary>
    /// The operating system's resolver (<see cref="System.Net.Dns.GetHostEntryAsync(IPAddress)"/>): hosts file, NSS,
    /// the system's DNS servers. It reports no TTL. netstandard2.0 offers no way to cancel it, so a lookup that outlives
    /// the timeout is abandoned (reported as a failure) and left to the system's own resolver timeouts.
    /// </summary>
    internal sealed class SystemPtrSource : IPtrSource
    {
        private readonly TimeSpan _timeout;

        public SystemPtrSource(TimeSpan timeout)
        {
            _timeout = timeout;
        }

        public async Task<PtrOutcome> LookupAsync(IPAddress address, CancellationToken cancel)
        {
            Task<IPHostEntry> lookup;
            try
            {
                lookup = System.Net.Dns.GetHostEntryAsync(address);
            }
            catch (Exception)
            {
                return PtrOutcome.Failed();
            }
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                var delay = Task.Delay(_timeout, timeout.Token);
                var first = await Task.WhenAny(lookup, delay).ConfigureAwait(false);
                timeout.Cancel();
                if (first != lookup)
                {
                    // Observe the abandoned lookup's exception so it is not reported as unobserved.
                    _ = lookup.ContinueWith(t => { _ = t.Exception; }, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
                    cancel.ThrowIfCancellationRequested();
                    return PtrOutcome.Failed();
                }
            }
            try
            {
                var entry = await lookup.ConfigureAwait(false);
                string host = entry?.HostName;
                // Some platforms hand back the address text itself when there is no name.
                if (string.IsNullOrEmpty(host) || IPAddress.TryParse(host, out _)) return PtrOutcome.Absent(null);
                string name = HostNameSanitizer.FromText(host.TrimEnd('.'));
                return name == null ? PtrOutcome.Absent(null) : PtrOutcome.Found(name, null);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.HostNotFound || e.SocketErrorCode == SocketError.NoData)
            {
                return PtrOutcome.Absent(null);
            }
            catch (Exception)
            {
                return PtrOutcome.Failed();
            }
        }
    }
}

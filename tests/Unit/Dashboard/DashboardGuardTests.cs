using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Dashboard;
using Xunit;

namespace ConnectionsMonitor.Tests.Dashboard
{
    /// <summary>The dashboard's request checks, as pure functions over header values.</summary>
    public sealed class DashboardGuardTests
    {
        private const string Token = "k3y-of-this-start_0123456789abcdefghijklmnopq";

        private static DashboardGuard Loopback() => new DashboardGuard(Token, 3000, null);

        // The cookie the swap gives a browser ("cm_dashboard_3000=…").
        private static string Cookie(DashboardGuard g) => g.SetCookie().Split(';')[0];

        [Fact]
        public void ATokenIs256RandomBitsInBase64Url()
        {
            var tokens = Enumerable.Range(0, 200).Select(_ => DashboardGuard.NewToken()).ToList();
            Assert.All(tokens, t => Assert.Matches("^[A-Za-z0-9_-]{43}$", t));
            Assert.Equal(200, tokens.Distinct().Count());
        }

        [Theory]
        [InlineData("127.0.0.1:3000", true)]
        [InlineData("localhost:3000", true)]
        [InlineData("LocalHost:3000", true)]
        [InlineData("[::1]:3000", true)]
        [InlineData("127.0.0.1:3001", false)]
        [InlineData("127.0.0.1", false)]
        [InlineData("evil.example:3000", false)]
        [InlineData("localhost.evil.example:3000", false)]
        [InlineData("", false)]
        [InlineData(null, false)]
        public void TheHostMustBeALoopbackNameWithThePort(string host, bool allowed)
        {
            Assert.Equal(allowed, Loopback().HostAllowed(host));
            var g = Loopback();
            Assert.Equal(allowed ? DashboardRefusal.None : DashboardRefusal.WrongHost, g.Check("GET", "/", host, Cookie(g), null, null, null, null));
        }

        [Fact]
        public void ABoundAddressIsAcceptedAsHostToo()
        {
            var guard = new DashboardGuard(Token, 3000, IPAddress.Parse("192.0.2.10"));
            Assert.True(guard.HostAllowed("192.0.2.10:3000"));
            Assert.True(guard.HostAllowed("127.0.0.1:3000"));
            Assert.False(guard.HostAllowed("192.0.2.11:3000"));
            Assert.True(new DashboardGuard(Token, 3000, IPAddress.Any).HostAllowed(System.Net.Dns.GetHostName() + ":3000"));
            // Another loopback address: the page's own URL names it.
            var other = new DashboardGuard(Token, 3000, IPAddress.Parse("127.0.0.2"));
            Assert.True(other.HostAllowed("127.0.0.2:3000"));
            Assert.True(other.HostAllowed("localhost:3000"));
            Assert.False(other.HostAllowed("127.0.0.3:3000"));
            Assert.False(Loopback().HostAllowed("127.0.0.2:3000"));
        }

        [Fact]
        public void TheTokenOpensTheSwapAndTheCookieOfTheSwapOpensThePage()
        {
            var g = Loopback();
            string cookie = Cookie(g);
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/", "127.0.0.1:3000", null, null, null, null, null));
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/", "127.0.0.1:3000", "cm_dashboard_3000=wrong", null, null, null, null));
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/", "127.0.0.1:3000", cookie.Replace("3000=", "3001="), null, null, null, null)); // another dashboard's cookie
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/", "127.0.0.1:3000", null, Token + "x", null, null, null));
            Assert.Equal(DashboardRefusal.None, g.Check("GET", "/", "127.0.0.1:3000", "theme=dark; " + cookie + "; other=1", null, null, null, null));
            Assert.Equal(DashboardRefusal.None, g.Check("GET", "/", "127.0.0.1:3000", null, Token, null, null, null));
            // The cookie is not the token: a cookie that leaked (the browser sends it to every port of 127.0.0.1) buys no swap,
            // and the token is no cookie.
            Assert.NotEqual("cm_dashboard_3000=" + Token, cookie);
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/", "127.0.0.1:3000", null, cookie.Substring(cookie.IndexOf('=') + 1), null, null, null));
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/", "127.0.0.1:3000", "cm_dashboard_3000=" + Token, null, null, null, null));
            // The Host is checked first: a rebinding page with a stolen token is still refused.
            Assert.Equal(DashboardRefusal.WrongHost, g.Check("GET", "/", "evil.example:3000", null, Token, null, null, null));
        }

        [Fact]
        public void ThePagesDataNeedsThePageKeyTooWhichTheSwapHandsOverInTheFragment()
        {
            var g = Loopback();
            string cookie = Cookie(g);
            Assert.Matches("^/#k=[A-Za-z0-9_-]{43}$", g.SwapLocation);
            Assert.Equal("/#k=" + g.PageKey, g.SwapLocation);
            Assert.NotEqual(Token, g.PageKey);
            Assert.DoesNotContain(g.PageKey, g.SetCookie());
            Assert.NotEqual(g.PageKey, new DashboardGuard(Token, 3000, null).PageKey); // per start
            // The page and its files: the cookie is enough. Its data: the cookie and the key.
            Assert.Equal(DashboardRefusal.None, g.Check("GET", "/assets/app.js", "127.0.0.1:3000", cookie, null, null, null, null));
            Assert.Equal(DashboardRefusal.NoPageKey, g.Check("GET", "/api/snapshot", "127.0.0.1:3000", cookie, null, null, null, null));
            Assert.Equal(DashboardRefusal.NoPageKey, g.Check("GET", "/api/snapshot", "127.0.0.1:3000", cookie, null, g.PageKey + "x", null, null));
            Assert.Equal(DashboardRefusal.NoPageKey, g.Check("GET", "/api/snapshot", "127.0.0.1:3000", cookie, null, Token, null, null));
            Assert.Equal(DashboardRefusal.None, g.Check("GET", "/api/snapshot", "127.0.0.1:3000", cookie, null, g.PageKey, null, null));
            Assert.Equal(DashboardRefusal.NoToken, g.Check("GET", "/api/snapshot", "127.0.0.1:3000", null, null, g.PageKey, null, null)); // the key alone is not enough either
            Assert.Equal(DashboardRefusal.NoPageKey, g.Check("POST", "/api/block", "127.0.0.1:3000", cookie, null, null, "application/json", "http://127.0.0.1:3000"));
        }

        [Fact]
        public void ChangesNeedJsonAndTheSameOrigin()
        {
            var g = Loopback();
            string cookie = Cookie(g), key = g.PageKey;
            Assert.Equal(DashboardRefusal.NotJson, g.Check("POST", "/api/export", "127.0.0.1:3000", cookie, null, key, "text/plain", "http://127.0.0.1:3000"));
            Assert.Equal(DashboardRefusal.NotJson, g.Check("POST", "/api/export", "127.0.0.1:3000", cookie, null, key, null, "http://127.0.0.1:3000"));
            Assert.Equal(DashboardRefusal.CrossOrigin, g.Check("POST", "/api/export", "127.0.0.1:3000", cookie, null, key, "application/json", "http://evil.example"));
            Assert.Equal(DashboardRefusal.CrossOrigin, g.Check("POST", "/api/export", "127.0.0.1:3000", cookie, null, key, "application/json", null));
            Assert.Equal(DashboardRefusal.CrossOrigin, g.Check("POST", "/api/export", "127.0.0.1:3000", cookie, null, key, "application/json", "http://localhost:3000")); // another origin, though the same socket
            Assert.Equal(DashboardRefusal.NoToken, g.Check("POST", "/api/export", "127.0.0.1:3000", null, null, key, "application/json", "http://127.0.0.1:3000"));
            Assert.Equal(DashboardRefusal.None, g.Check("POST", "/api/export", "127.0.0.1:3000", cookie, null, key, "application/json; charset=utf-8", "http://127.0.0.1:3000"));
        }

        [Fact]
        public void TheCookieIsHttpOnlyAndSameSiteStrict()
        {
            Assert.Matches("^cm_dashboard_3000=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$", Loopback().SetCookie());
        }

        [Fact]
        public void EveryReplyCarriesAStrictPolicyAndNoCors()
        {
            var headers = DashboardGuard.SecurityHeaders.ToDictionary(h => h.Key, h => h.Value);
            Assert.Equal("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                headers["Content-Security-Policy"]);
            Assert.Equal("DENY", headers["X-Frame-Options"]);
            Assert.Equal("no-referrer", headers["Referrer-Policy"]);
            Assert.DoesNotContain(headers.Keys, k => k.StartsWith("Access-Control-", System.StringComparison.OrdinalIgnoreCase));
        }
    }
}

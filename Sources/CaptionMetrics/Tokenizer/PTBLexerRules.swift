/// The token classes of the Stanford PTB tokenizer as pycocoevalcap runs it (stanford-corenlp-3.4.1.jar,
/// `PTBTokenizer -preserveLines -lowerCase`, i.e. the historical PTB3 normalisations switched on), restated
/// as patterns for `LexMatcher`. Behaviour, not code, is what is reproduced: the rules below are checked
/// token for token against the real jar on the golden fixtures (Tools/metrics/make_golden.py).
///
/// How the original lexer decides (JFlex): at each position the rule with the LONGEST match wins, the
/// earlier rule wins a tie; a rule `R / L` matches R only when L follows, and the length of R+L counts for
/// "longest". Literals are case-insensitive, bracketed classes are not. Characters no rule matches are
/// deleted (they still separate tokens).
enum PTBLexerRules {
    /// What a matched rule produces.
    enum Action: Sendable {
        case token(Transform)
        /// Emit only the first `count - dropped` scalars as a token; rescan the rest ("cannot" → can + not).
        case keepHead(dropped: Int)
        /// An acronym before a sentence-starting word: "U.S." is emitted and its "." rescanned as a second
        /// token; a single letter ("a.") is emitted without the period.
        case acronymAtSentenceEnd
        /// An abbreviation ending a sentence: emitted whole ("etc.") and its "." rescanned as a token.
        case abbreviationAtSentenceEnd
        case skip
        case newline
    }

    enum Transform: Sendable {
        case none
        case removeSoftHyphens
        case spacesToNoBreak           // SGML tags and fractions keep their spaces as U+00A0
        case phone                     // spaces to U+00A0 and parentheses to -LRB- / -RRB-
        case parentheses               // smileys: ( ) to -LRB- -RRB-
        case quotes(opening: Bool)     // LaTeX-style quotes: `` '' ` '
        case ampersand                 // &amp; to &
        case fraction                  // ¼ ½ ¾ ⅓ ⅔ to 1/4 …
        case currency                  // ¢ £ € to cents # $
        case dashes                    // --- and ---- to --
        case replace(String)
    }

    struct Rule: Sendable {
        let pattern: LexPattern
        let lookahead: LexPattern?
        let action: Action
    }

    // MARK: Building blocks (each wrapped in a group so it can be quantified)

    static let space = #"[ \t\u{A0}\u{2000}-\u{200A}\u{3000}]"#
    static let newline = #"(\r|\r?\n|\u{2028}|\u{2029}|\u{B}|\u{C}|\u{85})"#
    static let spaceOrNewline = "(" + space + "|" + newline + ")"
    static let digit = #"[\p{Nd}\u{7C0}-\u{7C9}]"#
    static let letterOrDigit = #"[\p{L}\p{Nd}]"#
    /// Letters: Unicode 6.x letters, many combining marks, the soft hyphen, and the
    /// HTML accent entities (&eacute; …).
    static let letter = #"([\p{L}\u{AD}\u{237}-\u{24F}\u{2C2}-\u{2C5}\u{2D2}-\u{2DF}\u{2E5}-\u{2FF}\u{300}-\u{36F}"#
        + #"\u{370}-\u{37D}\u{384}\u{385}\u{3CF}\u{3F6}\u{3FC}-\u{3FF}\u{483}-\u{487}\u{4CF}\u{4F6}-\u{4FF}"#
        + #"\u{510}-\u{525}\u{55A}-\u{55F}\u{591}-\u{5BD}\u{5BF}\u{5C1}\u{5C2}\u{5C4}\u{5C5}\u{5C7}\u{615}-\u{61A}"#
        + #"\u{63B}-\u{63F}\u{64B}-\u{65E}\u{670}\u{6D6}-\u{6EF}\u{6FA}-\u{6FF}\u{70F}\u{711}\u{730}-\u{74F}"#
        + #"\u{750}-\u{77F}\u{7A6}-\u{7B1}\u{7CA}-\u{7F5}\u{7FA}\u{900}-\u{903}\u{93C}\u{93E}-\u{94E}\u{951}-\u{955}"#
        + #"\u{962}-\u{963}\u{981}-\u{983}\u{9BC}-\u{9C4}\u{9C7}\u{9C8}\u{9CB}-\u{9CD}\u{9D7}\u{9E2}\u{9E3}"#
        + #"\u{A01}-\u{A03}\u{A3C}\u{A3E}-\u{A4F}\u{A81}-\u{A83}\u{ABC}-\u{ACF}\u{B82}\u{BBE}-\u{BC2}\u{BC6}-\u{BC8}"#
        + #"\u{BCA}-\u{BCD}\u{C01}-\u{C03}\u{C3E}-\u{C56}\u{D3E}-\u{D44}\u{D46}-\u{D48}\u{E30}-\u{E3A}\u{E47}-\u{E4E}"#
        + #"\u{EB1}-\u{EBC}\u{EC8}-\u{ECD}]|&[aeiouAEIOU](acute|grave|uml);)"#
    static let word = "(" + letter + "(" + letter + "|" + digit + ")*([.!?]" + letter + "(" + letter + "|" + digit + ")*)*)"
    static let apostrophe = #"(['\u{92}\u{2019}]|&apos;)"#
    static let apostropheLike = "(" + apostrophe + #"|[`\u{91}\u{2018}\u{201B}])"#
    static let hyphen = #"[\-_\u{58A}\u{2010}\u{2011}]"#
    static let number = "([\\-+]?(" + digit + "+|" + digit + "*([.:,\\u{AD}\\u{66B}\\u{66C}]" + digit + "+)+))"
    static let sgml = #"(<([!?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:.\-]*([ ]+([A-Za-z][A-Za-z0-9_:.\-]*|"#
        + #"[A-Za-z][A-Za-z0-9_:.\-]*[ ]*=[ ]*('[^']*'|"[^"]*")))*[ ]*/?|/[A-Za-z][A-Za-z0-9_:.\-]*)[ ]*>)"#
    /// One- or several-letter acronyms: u.k, e.g, a.k.a …
    static let acronym = #"([A-Za-z](\.[A-Za-z])*|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R))"#
    static let acronym2 = #"([A-Za-z](\.[A-Za-z])+|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R))"#
    /// Clitics after a word: 's 'm 'd 're 've 'll, and n't.
    static let clitic = "(" + apostrophe + "([msdMSD]|re|ve|ll))"
    static let negation = "(n" + apostropheLike + "t)"
    /// Abbreviations usually followed by a lower-case word (months, days, states, companies …).
    static let abbreviationLower = "((Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
        + "|Mon|Tue|Tues|Wed|Thu|Thurs|Fri"
        + "|Ala|Ariz|[A]z|[A]rk|Calif|Colo|Conn|Ct|Dak|[D]el|Fla|Ga|[I]ll|Ind|Kans?|Ky|[L]a|[M]ass|Md|Mich|Minn"
        + "|[M]iss|Mo|Mont|Neb|Nev|Okla|[O]re|[P]a|Penn|Tenn|[T]ex|Va|Vt|[W]ash|Wisc?|Wyo"
        + "|Inc|Cos?|Corp|Pp?t[ye]s?|Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys"
        + "|tel|est|ext|sq"
        + #"|Jr|Sr|Bros|(Ed|Ph)\.D|Blvd|Rd|Esq"#
        + #"|etc|al|seq|Bldg)\.)"#
    /// Abbreviations usually followed by a capitalised word (titles …), without their period.
    static let abbreviationUpper = "(Mr|Mrs|Ms|[M]iss|Drs?|Profs?|Sens?|Reps?|Attys?|Lt|Col|Gen|Messrs|Govs?|Adm|Rev"
        + "|Maj|Sgt|Cpl|Pvt|Capt|Ste?|Ave|Pres|Lieut|Hon|Brig|Co?mdr|Pfc|Spc|Supts?|Det|Mt|Ft|Adj|Adv|Asst|Assoc"
        + #"|Ens|Insp|Mlle|Mme|Msgr|Sfc|vs|Alex|Wm|Jos|Cie|a\.k\.a|cf|TREAS|Ph|"# + acronym
        + "|Invt|Elec|Natl|M[ft]g|Dept)"
    static let sentenceStart = "([A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|[H]e"
        + "|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\\.|[M]s\\.|[N]ow|[O]nce|[O]ne|[O]ther"
        + "|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|[T]hat|[T]he|[T]heir|[T]hen|[T]here|[T]hese|[T]hey|[T]his|[W]e"
        + "|[W]hen|[W]hile|[W]hat|[Y]et|[Y]ou|" + sgml + ")"
    static let inSentencePunctuation = #"[,;:\u{3001}]"#
    static let letterDigitRun = "(([dDoOlL]" + apostropheLike + letterOrDigit + ")?" + letterOrDigit + "+)"
    /// Hyphenated words: hip-hop, state-of-the-art, o'clock-style.
    static let thing = "(" + letterDigitRun + "(" + hyphen + letterDigitRun + ")*)"
    /// Capitals joined by + or &: R&B, AT&T (case-sensitive: r&b is three tokens).
    static let capitalsJoined = #"([A-Z]+(([+&]|&amp;)[A-Z]+)+)"#
    static let hyphenThing = #"([A-Za-z0-9][A-Za-z0-9.,\u{AD}]*(-([A-Za-z0-9\u{AD}]+|"# + acronym2 + #"\.))+)"#
    static let urlStop = #"[^ \t\n\f\r"<>|.!?(){},-]"#

    static let rules: [Rule] = {
        func r(_ p: String, _ a: Action = .token(.none)) -> Rule { Rule(pattern: LexPattern(p), lookahead: nil, action: a) }
        func r(_ p: String, followedBy l: String, _ a: Action = .token(.none)) -> Rule {
            Rule(pattern: LexPattern(p), lookahead: LexPattern(l), action: a)
        }
        let wordCharacter = "(" + letter + "|" + digit + ")"
        return [
            r("c[+][+]"),
            r("(c|f)#"),
            r("cannot", .keepHead(dropped: 3)),
            r("'twas", .keepHead(dropped: 3)),
            r("'tis", .keepHead(dropped: 2)),
            r("gonna|gotta|lemme|gimme|wanna", .keepHead(dropped: 2)),
            r(sgml, .token(.spacesToNoBreak)),
            r(#"&(MD|mdash|ndash);|[\u{96}\u{97}\u{2013}\u{2014}\u{2015}]"#, .token(.replace("--"))),
            r("&amp;", .token(.ampersand)),
            r("&(HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);"),
            r(word, followedBy: clitic, .token(.removeSoftHyphens)),
            r(#"[A-Za-z\u{AD}]*[A-MO-Za-mo-z](\u{AD})*"#, followedBy: negation, .token(.removeSoftHyphens)),
            r(word, .token(.removeSoftHyphens)),
            // words with an apostrophe inside that stay whole: rock 'n' roll, o'clock, y'all, l'amour, '90s …
            r(apostrophe + "n" + apostrophe + "?|[lLdDjJ]" + apostrophe + "|Dunkin" + apostrophe + "|somethin"
              + apostrophe + "|ol" + apostrophe + "|" + apostrophe + "em|[A-HJ-XZn]" + apostropheLike
              + #"\p{L}{2}\p{L}*|"# + apostrophe + "[2-9]0s|" + apostrophe + "till?|" + #"\p{L}\p{L}*[aeiouyAEIOUY]"#
              + apostropheLike + #"[aeiouA-Z]\p{L}*|"# + apostrophe
              + #"cause|cont'd\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l|O"# + apostropheLike + "o"),
            r("y" + apostrophe, followedBy: #"\p{L}"#),
            r(#"https?://[^ \t\n\f\r"<>|(){}]+"# + urlStop),
            r(#"((www\.([^ \t\n\f\r"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|(([^ \t\n\f\r"`'<>|.!?(){},-_$]+\.)+(com|net|org|edu)))"#
              + #"(/[^ \t\n\f\r"<>|()]+"# + urlStop + ")?"),
            r(#"(&lt;|<)?[a-zA-Z0-9][^ \t\n\f\r"<>|()\u{A0}{}]*@([^ \t\n\f\r"<>|(){}.\u{A0}]+\.)*"#
              + #"([^ \t\n\f\r"<>|(){}.\u{A0}]+)(&gt;|>)?"#),
            r("@[a-zA-Z_][a-zA-Z_0-9]*|#" + letter + "+"),
            r(clitic, followedBy: "[^A-Za-z]", .token(.quotes(opening: false))),
            r(negation, followedBy: "[^A-Za-z]", .token(.quotes(opening: false))),
            r(digit + "{1,2}[\\-/]" + digit + "{1,2}[\\-/]" + digit + "{2,4}"),
            r(number, .token(.removeSoftHyphens)),
            r(#"[\u{207A}\u{207B}\u{208A}\u{208B}]?([\u{2070}\u{B9}\u{B2}\u{B3}\u{2074}-\u{2079}]+|[\u{2080}-\u{2089}]+)"#),
            r("(" + digit + "{1,4}[\\- \\u{A0}])?" + digit + "{1,4}(\\\\?/|\\u{2044})" + digit + "{1,4}",
              .token(.spacesToNoBreak)),
            r(#"[\u{BC}\u{BD}\u{BE}\u{2153}-\u{215E}]"#, .token(.fraction)),
            r(#"-(RRB|LRB|RCB|LCB|RSB|LSB)-|C\.D\.s|pro-|anti-|S(&|&amp;)P-500|S(&|&amp;)Ls|Cap"# + apostrophe
              + "n|c" + apostrophe + "est", .token(.ampersand)),
            r(#"[A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2}"#),
            r(#"[A-Z]*\$|#"#),
            r(#"[\u{A2}\u{A3}\u{A4}\u{A5}\u{80}\u{20A0}\u{20AC}\u{60B}\u{E3F}\u{20A4}\u{FFE0}\u{FFE1}\u{FFE5}\u{FFE6}]"#,
              .token(.currency)),
            r(acronym + #"\."#, followedBy: "(" + spaceOrNewline + "+)" + sentenceStart + spaceOrNewline,
              .acronymAtSentenceEnd),
            r(#"(ca|figs?|prop|nos?|art|bldg|prop|pp|op)\."#, followedBy: spaceOrNewline + #"?\p{Nd}"#),
            r(#"(pt[eyEY]|co)\."#, followedBy: space + "(ltd|lim)"),
            r(abbreviationLower, followedBy: spaceOrNewline + "(" + spaceOrNewline + #"|\p{Lu}|"# + sgml + ")",
              .abbreviationAtSentenceEnd),
            r(abbreviationLower, followedBy: "[^][^]"),
            r(abbreviationLower, .abbreviationAtSentenceEnd),
            r(abbreviationUpper + #"\."#),
            r(abbreviationUpper, followedBy: space),
            r(acronym, followedBy: spaceOrNewline),
            r(apostrophe + "[0-9][0-9]", followedBy: spaceOrNewline),
            r("(" + wordCharacter + "+([.]" + wordCharacter + "+)*([.](bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif"
              + "|gz|h|htm|html|jar|java|jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip)))",
              followedBy: "(" + spaceOrNewline + "|[.?!,])"),
            r(word + #"\."#, followedBy: inSentencePunctuation, .token(.removeSoftHyphens)),
            r(#"(\([0-9]{2,3}\)[ \u{A0}]?|(\+\+?)?([0-9]{2,4}[\- \u{A0}])?[0-9]{2,4}[\- \u{A0}])[0-9]{3,4}[\- \u{A0}]?[0-9]{3,5}"#
              + #"|((\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}"#, .token(.phone)),
            r(#""|&quot;"#, followedBy: #"[A-Za-z0-9$]"#, .token(.quotes(opening: true))),
            r(#""|&quot;"#, .token(.quotes(opening: false))),
            r(#"[\u{7F}]"#, .skip),
            r("<|&lt;", .token(.replace("<"))),
            r(">|&gt;", .token(.replace(">"))),
            r(#"[<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]]"#, followedBy: "[^A-Za-z0-9]", .token(.parentheses)),
            r(#"[\^x=~<>]\.\[\^x=~<>]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)"#
              + #"|\([\^x=~<>']-[\^x=~<>'`]\)"#, .token(.parentheses)),
            r(#"\{"#, .token(.replace("-LCB-"))),
            r(#"\}"#, .token(.replace("-RCB-"))),
            r(#"\["#, .token(.replace("-LSB-"))),
            r(#"\]"#, .token(.replace("-RSB-"))),
            r(#"\("#, .token(.replace("-LRB-"))),
            r(#"\)"#, .token(.replace("-RRB-"))),
            r(#"\-+"#, .token(.dashes)),
            r(#"\.{3,5}|(\.[ \u{A0}]){2,4}\.|[\u{85}\u{2026}]"#, .token(.replace("..."))),
            r("@+|#+|_+"),
            r(#"\*+|(\\\*){1,3}"#),
            r(inSentencePunctuation),
            r("[?!]+"),
            r(#"[.\u{A1}\u{BF}\u{37E}\u{589}\u{61F}\u{6D4}\u{700}-\u{702}\u{7FA}\u{3002}]"#),
            r("="),
            r("/"),
            r(hyphenThing + #"\."#, followedBy: inSentencePunctuation, .token(.removeSoftHyphens)),
            r(hyphenThing, .token(.removeSoftHyphens)),
            r(thing + #"\."#, followedBy: inSentencePunctuation),
            r(thing),
            r(capitalsJoined + #"\."#, followedBy: inSentencePunctuation, .token(.ampersand)),
            r(capitalsJoined, .token(.ampersand)),
            r("'", followedBy: #"[A-Za-z][^ \t\n\r\u{A0}]"#, .token(.quotes(opening: true))),
            r(clitic, .token(.quotes(opening: false))),
            r(negation, .token(.quotes(opening: false))),
            r(apostrophe + #"|''|[`\u{2018}\u{2019}\u{201A}\u{201B}\u{201C}\u{201D}\u{91}\u{92}\u{93}\u{94}\u{201E}\u{201F}"#
              + #"\u{2039}\u{203A}\u{AB}\u{BB}]{1,2}"#, .token(.quotes(opening: false))),
            r("<<|>>"),
            r(#"[+%&~\^|\\\u{A6}\u{A7}\u{A8}\u{A9}\u{AC}\u{AE}\u{AF}\u{B0}-\u{B3}\u{B4}-\u{BA}\u{D7}\u{F7}\u{387}\u{5BE}"#
              + #"\u{5C0}\u{5C3}\u{5C6}\u{5F3}\u{5F4}\u{600}-\u{603}\u{606}-\u{60A}\u{60C}\u{614}\u{61B}\u{61E}\u{66A}"#
              + #"\u{66D}\u{703}-\u{70D}\u{7F6}\u{7F7}\u{7F8}\u{964}\u{965}\u{E4F}\u{1FBD}\u{2016}\u{2017}"#
              + #"\u{2020}-\u{2023}\u{2030}-\u{2038}\u{203B}\u{203E}-\u{2042}\u{2044}\u{207A}-\u{207F}\u{208A}-\u{208E}"#
              + #"\u{2100}-\u{214F}\u{2190}-\u{21FF}\u{2200}-\u{2BFF}\u{3012}\u{30FB}\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF20}"#
              + #"\u{FF3B}-\u{FF40}\u{FF5B}-\u{FF65}]"#),
            r(#"[\u{0}]|"# + space + #"+|[\u{200B}\u{200E}\u{200F}\u{FEFF}]"#, .skip),
            r(newline, .newline),
            r("&nbsp;", .skip),
        ]
    }()
}

//! The prompt's own words in en-GB (the default), cy, fr and de, and the
//! lookup that never leaves a blank.
//!
//! Venues may override or add strings per locale (`strings` in config).
//! Lookup walks the fallback chain (exact → base language → default), first
//! in the venue's strings and then in the built-in ones, and reports a key
//! that had to fall back so the widget can warn once.

use crate::compact::VecMap;

use crate::locale::{canonical_tag, fallback_chain, DEFAULT_LOCALE};

/// The locales with built-in strings.
pub const BUILT_IN_LOCALES: [&str; 4] = ["en-GB", "cy", "fr", "de"];

/// Every key the prompt uses, in the order the English text below lists them.
pub const KEYS: &[&str] = &[
    "title",
    "intro",
    "service",
    "change_later",
    "because",
    "and",
    "yes",
    "no",
    "general_yes",
    "channels_legend",
    "email",
    "post",
    "sms",
    "phone",
    "privacy",
    "new_tab",
    "wording_changed",
    "what_changed",
    "lapsed",
    "error_title",
    "error_required",
    "error_channels",
    "save",
    "saving",
    "saved",
    "pending",
    "failed",
    "nothing_to_ask",
    "gpc",
    "operator_script",
    "operator_confirm",
    "error_operator",
    "account_title",
    "account_intro",
    "account_given",
    "account_refused",
    "account_withdrawn",
    "account_never",
    "account_show",
    "account_empty",
    "operator_keys",
    "operator_title",
    "operator_intro",
    "receipt_offer",
    "receipt_json",
    "receipt_print",
    "receipt_title",
    "receipt_intro",
    "receipt_partner",
    "receipt_wording",
    "receipt_answer",
    "receipt_time",
    "receipt_record",
    "receipt_yes",
    "receipt_no",
    "receipt_none",
    "receipt_withdrew",
    "receipt_customer",
    "receipt_generated",
    "saved_none",
    "change",
    "receipt_not_opted_out",
    "receipt_opted_out",
    "receipt_imported",
    "reask_imported",
    "own_opt_out",
    "own_soft_opt_in",
    "receipt_basis",
    "basis_consent",
    "basis_legitimate_interests",
];

/// A string the prompt shows, typed: one variant per entry of [`KEYS`], in
/// the same order, so a misspelt key does not compile. Venues still name
/// them by [`Key::name`] in `strings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Title,
    Intro,
    Service,
    ChangeLater,
    Because,
    And,
    Yes,
    No,
    GeneralYes,
    ChannelsLegend,
    Email,
    Post,
    Sms,
    Phone,
    Privacy,
    NewTab,
    WordingChanged,
    WhatChanged,
    Lapsed,
    ErrorTitle,
    ErrorRequired,
    ErrorChannels,
    Save,
    Saving,
    Saved,
    Pending,
    Failed,
    NothingToAsk,
    Gpc,
    OperatorScript,
    OperatorConfirm,
    ErrorOperator,
    AccountTitle,
    AccountIntro,
    AccountGiven,
    AccountRefused,
    AccountWithdrawn,
    AccountNever,
    AccountShow,
    AccountEmpty,
    OperatorKeys,
    OperatorTitle,
    OperatorIntro,
    ReceiptOffer,
    ReceiptJson,
    ReceiptPrint,
    ReceiptTitle,
    ReceiptIntro,
    ReceiptPartner,
    ReceiptWording,
    ReceiptAnswer,
    ReceiptTime,
    ReceiptRecord,
    ReceiptYes,
    ReceiptNo,
    ReceiptNone,
    ReceiptWithdrew,
    ReceiptCustomer,
    ReceiptGenerated,
    SavedNone,
    Change,
    ReceiptNotOptedOut,
    ReceiptOptedOut,
    ReceiptImported,
    ReaskImported,
    OwnOptOut,
    OwnSoftOptIn,
    ReceiptBasis,
    BasisConsent,
    BasisLegitimateInterests,
}

impl Key {
    /// The key's name, as venues write it in `strings`.
    pub fn name(self) -> &'static str {
        KEYS[self as usize]
    }

    /// The name of a contact channel, as a checkbox label.
    pub fn channel(c: crate::domain::Channel) -> Key {
        use crate::domain::Channel;
        match c {
            Channel::Email => Key::Email,
            Channel::Post => Key::Post,
            Channel::Sms => Key::Sms,
            Channel::Phone => Key::Phone,
        }
    }
}

/// The prompt's text for `key` (see [`lookup`]).
pub fn text(overrides: &Overrides, locale: &str, key: Key) -> Text {
    lookup(overrides, locale, key.name())
}

const EN: &[&str] = &[
    "Hear from the companies behind your shows",
    "The companies that produce or promote the shows in your basket would like to contact you about their other work. Choose yes or no for each. Nothing is selected until you choose.",
    "We will always send you service messages about this booking, such as times, access information and changes. These are not marketing and do not need your consent.",
    "You can change your mind at any time in your account or by contacting the box office.",
    "Because you are booking {events}.",
    "and",
    "Yes, {partner} may contact me",
    "No, thank you",
    "Yes, all of these companies may contact me",
    "How may {partner} contact you?",
    "Email",
    "Post",
    "Text message",
    "Phone",
    "Read how {partner} uses your data",
    "(opens in a new tab)",
    "The wording has changed since you last answered, so we are asking again.",
    "What changed:",
    "Your earlier answer has lapsed, so we are asking again.",
    "There is a problem",
    "Choose yes or no for {partner}",
    "Choose at least one way {partner} may contact you, or choose no",
    "Save my choices",
    "Saving your choices…",
    "Your choices are saved. Thank you.",
    "Your choices are kept on this device and will be sent as soon as the connection returns.",
    "We could not save your choices. Please try again or tell the box office.",
    "You have already told us your preferences for every company in your basket.",
    "Your browser has asked sites not to sell or share your data. We will not assume an answer: please choose below.",
    "Read this to the customer, word for word:",
    "The customer has heard this wording",
    "Confirm that the customer has heard the wording",
    "Your contact preferences",
    "Choose which companies may contact you about their shows. Changes apply from now on, and you can change them again at any time.",
    "You said yes on {date}.",
    "You said no on {date}.",
    "You withdrew your consent on {date}.",
    "You have not told us yet.",
    "Show what you agreed to",
    "You have no partner companies to manage yet.",
    "Keys: Y yes, N no, H heard, J next company, K previous company, Enter saves.",
    "Partner companies: the customer's contact preferences",
    "Ask the customer each question below. Read the wording exactly as shown and record their answer. Nothing is selected until they answer.",
    "Download a copy of your choices",
    "Save a copy as a file (JSON)",
    "Open a printable copy",
    "Your choices: {venue}",
    "Your copy of the answers you gave, with the exact wording you were shown.",
    "Company",
    "The wording you were shown",
    "Your answer",
    "When",
    "Record id",
    "Yes",
    "No",
    "No answer",
    "Withdrawn",
    "Customer number",
    "Copy made",
    "Saved. You did not choose for any company, so none of them may contact you. We will ask again next time.",
    "Change my answers",    "Did not opt out",
    "Opted out",
    "from the venue’s earlier records; the wording was not kept",
    "Your earlier answer came from our old records, which did not keep the wording you saw, so we are asking again.",
    "No thanks, do not send me news about {venue}",
    "Unless you tick the box, we will send you news about similar events at {venue}. You can stop them in any message we send.",    "Lawful basis",
    "Your consent",
    "Legitimate interests (you may opt out at any time)",
];

const CY: &[&str] = &[
    "Clywed gan y cwmnïau y tu ôl i'ch sioeau",
    "Hoffai'r cwmnïau sy'n cynhyrchu neu'n hyrwyddo'r sioeau yn eich basged gysylltu â chi am eu gwaith arall. Dewiswch ie neu na ar gyfer pob un. Does dim wedi'i ddewis nes i chi ddewis.",
    "Byddwn bob amser yn anfon negeseuon gwasanaeth atoch am yr archeb hon, fel amseroedd, gwybodaeth mynediad a newidiadau. Nid marchnata yw'r rhain ac nid oes angen eich caniatâd arnynt.",
    "Gallwch newid eich meddwl unrhyw bryd yn eich cyfrif neu drwy gysylltu â'r swyddfa docynnau.",
    "Oherwydd eich bod yn archebu {events}.",
    "a",
    "Ie, caiff {partner} gysylltu â mi",
    "Na, dim diolch",
    "Ie, caiff pob un o'r cwmnïau hyn gysylltu â mi",
    "Sut caiff {partner} gysylltu â chi?",
    "E-bost",
    "Post",
    "Neges destun",
    "Ffôn",
    "Darllenwch sut mae {partner} yn defnyddio eich data",
    "(yn agor mewn tab newydd)",
    "Mae'r geiriad wedi newid ers i chi ateb ddiwethaf, felly rydym yn gofyn eto.",
    "Beth sydd wedi newid:",
    "Mae eich ateb blaenorol wedi dod i ben, felly rydym yn gofyn eto.",
    "Mae problem",
    "Dewiswch ie neu na ar gyfer {partner}",
    "Dewiswch o leiaf un ffordd y caiff {partner} gysylltu â chi, neu dewiswch na",
    "Cadw fy newisiadau",
    "Wrthi'n cadw eich dewisiadau…",
    "Mae eich dewisiadau wedi'u cadw. Diolch.",
    "Caiff eich dewisiadau eu cadw ar y ddyfais hon a'u hanfon cyn gynted ag y daw'r cysylltiad yn ôl.",
    "Nid oeddem yn gallu cadw eich dewisiadau. Rhowch gynnig arall arni neu rhowch wybod i'r swyddfa docynnau.",
    "Rydych eisoes wedi rhoi gwybod i ni am eich dewisiadau ar gyfer pob cwmni yn eich basged.",
    "Mae eich porwr wedi gofyn i wefannau beidio â gwerthu na rhannu eich data. Ni fyddwn yn tybio ateb: dewiswch isod.",
    "Darllenwch hwn i'r cwsmer, air am air:",
    "Mae'r cwsmer wedi clywed y geiriad hwn",
    "Cadarnhewch fod y cwsmer wedi clywed y geiriad",
    "Eich dewisiadau cysylltu",
    "Dewiswch pa gwmnïau gaiff gysylltu â chi am eu sioeau. Mae newidiadau'n berthnasol o hyn ymlaen, a gallwch eu newid eto unrhyw bryd.",
    "Dywedoch ie ar {date}.",
    "Dywedoch na ar {date}.",
    "Tynnoch eich caniatâd yn ôl ar {date}.",
    "Nid ydych wedi dweud wrthym eto.",
    "Dangos beth y cytunoch iddo",
    "Nid oes gennych unrhyw gwmnïau partner i'w rheoli eto.",
    "Bysellau: Y ie, N na, H wedi clywed, J cwmni nesaf, K cwmni blaenorol, Enter yn cadw.",
    "Cwmnïau partner: dewisiadau cysylltu'r cwsmer",
    "Gofynnwch bob cwestiwn isod i'r cwsmer. Darllenwch y geiriad yn union fel y mae a chofnodwch yr ateb. Does dim wedi'i ddewis nes i'r cwsmer ateb.",
    "Lawrlwythwch gopi o'ch dewisiadau",
    "Cadw copi fel ffeil (JSON)",
    "Agor copi i'w argraffu",
    "Eich dewisiadau: {venue}",
    "Eich copi o'r atebion a roesoch, gyda'r union eiriad a ddangoswyd i chi.",
    "Cwmni",
    "Y geiriad a ddangoswyd i chi",
    "Eich ateb",
    "Pryd",
    "Rhif y cofnod",
    "Ie",
    "Na",
    "Dim ateb",
    "Wedi'i dynnu'n ôl",
    "Rhif cwsmer",
    "Copi wedi'i wneud",
    "Wedi'u cadw. Ni wnaethoch ddewis ar gyfer unrhyw gwmni, felly ni chaiff yr un ohonynt gysylltu â chi. Byddwn yn gofyn eto y tro nesaf.",
    "Newid fy atebion",    "Heb optio allan",
    "Wedi optio allan",
    "o gofnodion cynharach y lleoliad; ni chadwyd y geiriad",
    "Daeth eich ateb cynharach o’n hen gofnodion, nad oeddent yn cadw’r geiriad a welsoch, felly rydym yn gofyn eto.",
    "Dim diolch, peidiwch ag anfon newyddion am {venue} ataf",
    "Oni bai eich bod yn ticio’r blwch, byddwn yn anfon newyddion atoch am ddigwyddiadau tebyg yn {venue}. Gallwch eu hatal mewn unrhyw neges a anfonwn.",    "Sail gyfreithlon",
    "Eich cydsyniad",
    "Buddiannau dilys (gallwch optio allan unrhyw bryd)",
];

const FR: &[&str] = &[
    "Des nouvelles des compagnies derrière vos spectacles",
    "Les compagnies qui produisent ou présentent les spectacles de votre panier aimeraient vous contacter au sujet de leurs autres créations. Répondez oui ou non pour chacune. Rien n'est coché tant que vous ne choisissez pas.",
    "Nous vous enverrons toujours les messages de service liés à cette réservation, comme les horaires, l'accessibilité et les changements. Ce n'est pas de la prospection et cela ne demande pas votre consentement.",
    "Vous pouvez changer d'avis à tout moment depuis votre compte ou en contactant la billetterie.",
    "Parce que vous réservez {events}.",
    "et",
    "Oui, {partner} peut me contacter",
    "Non merci",
    "Oui, toutes ces compagnies peuvent me contacter",
    "Comment {partner} peut-elle vous contacter ?",
    "E-mail",
    "Courrier",
    "SMS",
    "Téléphone",
    "Voir comment {partner} utilise vos données",
    "(s'ouvre dans un nouvel onglet)",
    "Le texte a changé depuis votre dernière réponse : nous vous posons donc de nouveau la question.",
    "Ce qui a changé :",
    "Votre réponse précédente a expiré : nous vous posons donc de nouveau la question.",
    "Il y a un problème",
    "Répondez oui ou non pour {partner}",
    "Choisissez au moins un moyen de contact pour {partner}, ou répondez non",
    "Enregistrer mes choix",
    "Enregistrement de vos choix…",
    "Vos choix sont enregistrés. Merci.",
    "Vos choix sont conservés sur cet appareil et seront envoyés dès le retour de la connexion.",
    "Nous n'avons pas pu enregistrer vos choix. Réessayez ou prévenez la billetterie.",
    "Vous nous avez déjà indiqué vos préférences pour toutes les compagnies de votre panier.",
    "Votre navigateur demande aux sites de ne pas vendre ni partager vos données. Nous ne présumerons aucune réponse : choisissez ci-dessous.",
    "Lisez ce texte au client, mot pour mot :",
    "Le client a entendu ce texte",
    "Confirmez que le client a entendu le texte",
    "Vos préférences de contact",
    "Choisissez les compagnies qui peuvent vous contacter au sujet de leurs spectacles. Les changements s'appliquent dès maintenant et vous pouvez les modifier à tout moment.",
    "Vous avez dit oui le {date}.",
    "Vous avez dit non le {date}.",
    "Vous avez retiré votre consentement le {date}.",
    "Vous ne nous avez pas encore répondu.",
    "Voir ce que vous avez accepté",
    "Vous n'avez encore aucune compagnie partenaire à gérer.",
    "Touches : Y oui, N non, H entendu, J compagnie suivante, K compagnie précédente, Entrée enregistre.",
    "Compagnies partenaires : préférences de contact du client",
    "Posez chaque question ci-dessous au client. Lisez le texte exactement tel qu'il apparaît et enregistrez sa réponse. Rien n'est sélectionné tant qu'il n'a pas répondu.",
    "Télécharger une copie de vos choix",
    "Enregistrer une copie dans un fichier (JSON)",
    "Ouvrir une copie imprimable",
    "Vos choix : {venue}",
    "Votre copie des réponses que vous avez données, avec la formulation exacte qui vous a été présentée.",
    "Société",
    "La formulation qui vous a été présentée",
    "Votre réponse",
    "Date",
    "Identifiant de l'enregistrement",
    "Oui",
    "Non",
    "Sans réponse",
    "Retiré",
    "Numéro client",
    "Copie établie",
    "Enregistré. Vous n'avez fait aucun choix : aucune de ces entreprises ne pourra vous contacter. Nous vous reposerons la question la prochaine fois.",
    "Modifier mes réponses",    "Pas d’opposition",
    "Opposition",
    "d’après les anciens registres du lieu ; le texte n’a pas été conservé",
    "Votre réponse précédente provient de nos anciens registres, qui n’ont pas conservé le texte que vous avez vu : nous vous reposons donc la question.",
    "Non merci, ne m’envoyez pas d’actualités de {venue}",
    "Sauf si vous cochez la case, nous vous enverrons des actualités sur des événements semblables à {venue}. Vous pourrez les arrêter depuis chacun de nos messages.",    "Base légale",
    "Votre consentement",
    "Intérêt légitime (vous pouvez vous y opposer à tout moment)",
];

const DE: &[&str] = &[
    "Neuigkeiten von den Compagnien hinter Ihren Vorstellungen",
    "Die Compagnien, die die Vorstellungen in Ihrem Warenkorb produzieren oder veranstalten, möchten Sie über ihre weiteren Produktionen informieren. Wählen Sie für jede Ja oder Nein. Nichts ist ausgewählt, bevor Sie wählen.",
    "Servicenachrichten zu dieser Buchung, etwa zu Zeiten, Barrierefreiheit und Änderungen, senden wir Ihnen immer. Sie sind keine Werbung und brauchen keine Einwilligung.",
    "Sie können Ihre Meinung jederzeit in Ihrem Konto oder über die Theaterkasse ändern.",
    "Weil Sie {events} buchen.",
    "und",
    "Ja, {partner} darf mich kontaktieren",
    "Nein, danke",
    "Ja, alle diese Compagnien dürfen mich kontaktieren",
    "Wie darf {partner} Sie kontaktieren?",
    "E-Mail",
    "Post",
    "SMS",
    "Telefon",
    "Lesen Sie, wie {partner} Ihre Daten verwendet",
    "(öffnet in einem neuen Tab)",
    "Der Wortlaut hat sich seit Ihrer letzten Antwort geändert, deshalb fragen wir erneut.",
    "Was sich geändert hat:",
    "Ihre frühere Antwort ist abgelaufen, deshalb fragen wir erneut.",
    "Es gibt ein Problem",
    "Wählen Sie Ja oder Nein für {partner}",
    "Wählen Sie mindestens einen Kontaktweg für {partner} oder wählen Sie Nein",
    "Meine Auswahl speichern",
    "Ihre Auswahl wird gespeichert…",
    "Ihre Auswahl ist gespeichert. Vielen Dank.",
    "Ihre Auswahl ist auf diesem Gerät gesichert und wird gesendet, sobald die Verbindung wieder steht.",
    "Wir konnten Ihre Auswahl nicht speichern. Bitte versuchen Sie es erneut oder wenden Sie sich an die Theaterkasse.",
    "Sie haben uns Ihre Wünsche für alle Compagnien in Ihrem Warenkorb bereits mitgeteilt.",
    "Ihr Browser bittet Websites, Ihre Daten nicht zu verkaufen oder weiterzugeben. Wir nehmen keine Antwort vorweg: Bitte wählen Sie unten.",
    "Lesen Sie dies dem Kunden wörtlich vor:",
    "Der Kunde hat diesen Wortlaut gehört",
    "Bestätigen Sie, dass der Kunde den Wortlaut gehört hat",
    "Ihre Kontakteinstellungen",
    "Wählen Sie, welche Compagnien Sie über ihre Vorstellungen informieren dürfen. Änderungen gelten ab sofort, und Sie können sie jederzeit wieder ändern.",
    "Sie haben am {date} Ja gesagt.",
    "Sie haben am {date} Nein gesagt.",
    "Sie haben Ihre Einwilligung am {date} widerrufen.",
    "Sie haben uns noch nicht geantwortet.",
    "Anzeigen, wozu Sie eingewilligt haben",
    "Sie haben noch keine Partner-Compagnien zu verwalten.",
    "Tasten: Y Ja, N Nein, H gehört, J nächste Compagnie, K vorherige Compagnie, Eingabe speichert.",
    "Partner-Compagnien: Kontaktwünsche der Kundin oder des Kunden",
    "Stellen Sie jede Frage unten. Lesen Sie den Wortlaut genau so vor, wie er angezeigt wird, und erfassen Sie die Antwort. Nichts ist ausgewählt, bis eine Antwort erfolgt.",
    "Eine Kopie Ihrer Auswahl herunterladen",
    "Kopie als Datei speichern (JSON)",
    "Druckbare Kopie öffnen",
    "Ihre Auswahl: {venue}",
    "Ihre Kopie Ihrer Antworten, mit dem genauen Wortlaut, der Ihnen angezeigt wurde.",
    "Unternehmen",
    "Der Wortlaut, der Ihnen angezeigt wurde",
    "Ihre Antwort",
    "Zeitpunkt",
    "Datensatz-ID",
    "Ja",
    "Nein",
    "Keine Antwort",
    "Widerrufen",
    "Kundennummer",
    "Kopie erstellt",
    "Gespeichert. Sie haben für kein Unternehmen gewählt, daher darf keines Sie kontaktieren. Wir fragen beim nächsten Mal erneut.",
    "Meine Antworten ändern",    "Nicht widersprochen",
    "Widersprochen",
    "aus früheren Unterlagen des Hauses; der Wortlaut wurde nicht aufbewahrt",
    "Ihre frühere Antwort stammt aus unseren alten Unterlagen, die den Wortlaut nicht festgehalten haben. Deshalb fragen wir erneut.",
    "Nein danke, schicken Sie mir keine Neuigkeiten von {venue}",
    "Wenn Sie das Kästchen nicht ankreuzen, schicken wir Ihnen Neuigkeiten zu ähnlichen Veranstaltungen im {venue}. Sie können sie in jeder Nachricht abbestellen.",    "Rechtsgrundlage",
    "Ihre Einwilligung",
    "Berechtigtes Interesse (Sie können jederzeit widersprechen)",
];

/// Venue overrides: locale → key → text.
pub type Overrides = VecMap<String, VecMap<String, String>>;

fn built_in(locale: &str) -> Option<&'static [&'static str]> {
    match locale {
        "en-GB" | "en" => Some(EN),
        "cy" => Some(CY),
        "fr" => Some(FR),
        "de" => Some(DE),
        _ => None,
    }
}

/// A resolved string, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text {
    pub text: String,
    /// The locale that supplied the text.
    pub locale: String,
    /// True when the requested locale (or its base language) had no text for the key.
    pub fell_back: bool,
}

/// Looks `key` up for `locale`. Never blank: an unknown key returns the key
/// itself (and `fell_back`), so a mistake is visible but never empty.
pub fn lookup(overrides: &Overrides, locale: &str, key: &str) -> Text {
    let chain = fallback_chain(locale, DEFAULT_LOCALE);
    let wanted = [
        canonical_tag(locale),
        canonical_tag(crate::locale::base_language(locale)),
    ];
    let idx = KEYS.iter().position(|k| *k == key);
    for tag in &chain {
        let venue = overrides
            .get(tag)
            .and_then(|m| m.get(key))
            .filter(|t| !t.trim().is_empty());
        let venue = venue.map(|t| (t.clone(), tag.clone()));
        // English is built in as en-GB: report that, so dates in the sentence
        // are formatted the British way too.
        let built = || {
            let i = idx?;
            let table = built_in(tag)?;
            let name = if tag == "en" {
                "en-GB".to_owned()
            } else {
                tag.clone()
            };
            Some((table[i].to_owned(), name))
        };
        if let Some((text, locale)) = venue.or_else(built) {
            return Text {
                text,
                locale,
                fell_back: !wanted.contains(tag),
            };
        }
    }
    Text {
        text: key.to_owned(),
        locale: DEFAULT_LOCALE.to_owned(),
        fell_back: true,
    }
}

/// Fills `{name}` placeholders. Values are plain text; the UI escapes them.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// "Hamlet", "Hamlet and The Tempest", "Hamlet, Lear and The Tempest".
pub fn join_list(items: &[&str], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_name_the_keys_in_order() {
        assert_eq!(Key::Title.name(), "title");
        assert_eq!(Key::ReceiptGenerated.name(), "receipt_generated");
        assert_eq!(Key::Change.name(), "change");
        assert_eq!(Key::OwnSoftOptIn.name(), "own_soft_opt_in");
        assert_eq!(
            Key::BasisLegitimateInterests.name(),
            "basis_legitimate_interests"
        );
        assert_eq!(Key::BasisLegitimateInterests as usize, KEYS.len() - 1);
    }

    #[test]
    fn every_built_in_locale_has_every_key() {
        for (name, table) in [("en-GB", EN), ("cy", CY), ("fr", FR), ("de", DE)] {
            assert_eq!(table.len(), KEYS.len(), "{name}");
            assert!(
                table.iter().all(|t| !t.trim().is_empty()),
                "{name} has a blank string"
            );
        }
    }

    #[test]
    fn placeholders_survive_translation() {
        for (i, key) in KEYS.iter().enumerate() {
            for ph in ["{partner}", "{events}", "{date}"] {
                let in_en = EN[i].contains(ph);
                for (name, table) in [("cy", CY), ("fr", FR), ("de", DE)] {
                    assert_eq!(table[i].contains(ph), in_en, "{name}.{key} and {ph}");
                }
            }
        }
    }

    #[test]
    fn lookup_walks_exact_base_default() {
        let none = Overrides::new();
        assert_eq!(
            lookup(&none, "cy", "yes").text,
            "Ie, caiff {partner} gysylltu â mi"
        );
        let fr_ca = lookup(&none, "fr-CA", "no");
        assert_eq!(
            (fr_ca.text.as_str(), fr_ca.locale.as_str(), fr_ca.fell_back),
            ("Non merci", "fr", false)
        );
        let en_us = lookup(&none, "en-US", "no");
        assert_eq!(
            (en_us.locale.as_str(), en_us.fell_back),
            ("en-GB", false),
            "English is British English"
        );
        let es = lookup(&none, "es", "no");
        assert_eq!(
            (es.text.as_str(), es.locale.as_str(), es.fell_back),
            ("No, thank you", "en-GB", true)
        );
    }

    #[test]
    fn venue_overrides_win_and_gaps_fall_back() {
        let mut o = Overrides::new();
        o.insert(
            "ga".into(),
            VecMap::from([("title".into(), "Cloisteáil ó na comhlachtaí".into())]),
        );
        o.insert(
            "en-GB".into(),
            VecMap::from([("save".into(), "Continue to payment".into())]),
        );
        assert_eq!(
            lookup(&o, "ga", "title").text,
            "Cloisteáil ó na comhlachtaí"
        );
        let gap = lookup(&o, "ga", "save");
        assert_eq!(
            (gap.text.as_str(), gap.fell_back),
            ("Continue to payment", true)
        );
        assert_eq!(lookup(&o, "en-GB", "save").text, "Continue to payment");
        let unknown = lookup(&o, "cy", "no_such_key");
        assert_eq!(
            (unknown.text.as_str(), unknown.fell_back),
            ("no_such_key", true)
        );
    }

    #[test]
    fn joins_lists_naturally() {
        assert_eq!(join_list(&[], "and"), "");
        assert_eq!(join_list(&["Hamlet"], "and"), "Hamlet");
        assert_eq!(
            join_list(&["Hamlet", "The Tempest"], "a"),
            "Hamlet a The Tempest"
        );
        assert_eq!(join_list(&["A", "B", "C"], "und"), "A, B und C");
        assert_eq!(
            fill("Yes, {partner} may", &[("partner", "<b>")]),
            "Yes, <b> may"
        );
    }
}

<#-- Layout of every login page of the theme "phoi" (base's own pages included): header with the
     agency, the system name and the language switch; the page in a white panel; under it the link
     to the portal's public "cannot access" page. No script at all: the language switch is a list of
     links and "try another way" a submit button (base uses inline JavaScript for both).
     The development stand-in (deploy/local/src/phoi_local/keycloak/templates/base.html) renders
     the same markup from the same message bundles: change both together. -->
<#-- Parameters of base's and keycloak.v2's macro; older base pages also pass showAnotherWayIfPresent
     and displayWide, and otherParams... takes whatever a later Keycloak adds instead of failing. -->
<#macro registrationLayout bodyClass="" displayInfo=false displayMessage=true displayRequiredFields=false showAnotherWayIfPresent=true displayWide=false otherParams...>
<!DOCTYPE html>
<html lang="${(locale.currentLanguageTag)!'vi'}">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex, nofollow">
    <title><#nested "header"> – ${msg("phoiSystemName")}</title>
    <link rel="icon" href="${url.resourcesPath}/img/favicon.svg" type="image/svg+xml">
    <#if properties.styles?has_content>
        <#list properties.styles?split(' ') as style>
    <link href="${url.resourcesPath}/${style}" rel="stylesheet">
        </#list>
    </#if>
</head>
<body class="phoi-body ${bodyClass}">
<a class="phoi-skip" href="#kc-content">${msg("phoiSkipToContent")}</a>
<header class="phoi-header" id="kc-header">
    <div class="phoi-header__inner">
        <div class="phoi-header__title">
            <p class="phoi-header__agency">${msg("phoiAgency")}</p>
            <p class="phoi-header__system">${msg("phoiSystemName")}</p>
        </div>
        <#if realm.internationalizationEnabled && locale.supported?size gt 1>
        <nav class="phoi-lang" id="kc-locale" aria-label="${msg("languages")}">
            <ul>
                <#list locale.supported as l>
                <li><a href="${l.url}" lang="${l.languageTag}" hreflang="${l.languageTag}"<#if l.languageTag == locale.currentLanguageTag> aria-current="true"</#if>>${l.label}</a></li>
                </#list>
            </ul>
        </nav>
        </#if>
    </div>
</header>
<main class="phoi-main" id="kc-content" tabindex="-1">
    <div class="phoi-card">
        <h1 id="kc-page-title"><#nested "header"></h1>
        <#if displayRequiredFields>
        <p class="phoi-hint"><span aria-hidden="true">*</span> ${msg("requiredFields")}</p>
        </#if>
        <#if auth?has_content && auth.showUsername() && !auth.showResetCredentials()>
        <#nested "show-username">
        <p class="phoi-attempted" id="kc-username">
            <span class="phoi-attempted__name" id="kc-attempted-username">${auth.attemptedUsername}</span>
            <a id="reset-login" href="${url.loginRestartFlowUrl}">${msg("restartLoginTooltip")}</a>
        </p>
        </#if>
        <#-- App-initiated actions do not get the "you must do this" warning. -->
        <#if displayMessage && message?has_content && (message.type != 'warning' || !isAppInitiatedAction??)>
        <div class="phoi-alert phoi-alert--${message.type}" id="phoi-message" role="<#if message.type == 'error'>alert<#else>status</#if>">${kcSanitize(message.summary)?no_esc}</div>
        </#if>

        <#nested "form">

        <#if auth?has_content && auth.showTryAnotherWayLink() && showAnotherWayIfPresent>
        <form id="kc-select-try-another-way-form" action="${url.loginAction}" method="post" novalidate>
            <input type="hidden" name="tryAnotherWay" value="on">
            <button type="submit" id="try-another-way" class="phoi-link-button">${msg("doTryAnotherWay")}</button>
        </form>
        </#if>

        <#nested "socialProviders">

        <#if displayInfo>
        <div id="kc-info" class="phoi-info">
            <#nested "info">
        </div>
        </#if>
    </div>
    <p class="phoi-help" id="phoi-help"><a id="phoi-cannot-sign-in" href="${properties.phoiPortalUrl?remove_ending('/')}/cannot-sign-in">${msg("phoiCannotAccess")}</a></p>
</main>
</body>
</html>
</#macro>
